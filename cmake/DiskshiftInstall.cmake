# Installs libdiskshift so that another project can find_package(diskshift) or use pkg-config.
include(CMakePackageConfigHelpers)

set(DISKSHIFT_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/diskshift)

install(TARGETS diskshift EXPORT diskshiftTargets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
    RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/diskshift ${PROJECT_BINARY_DIR}/include/diskshift
    DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT diskshiftTargets NAMESPACE diskshift:: DESTINATION ${DISKSHIFT_CMAKE_DIR})

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/diskshiftConfig.cmake.in
    ${PROJECT_BINARY_DIR}/diskshiftConfig.cmake INSTALL_DESTINATION ${DISKSHIFT_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/diskshiftConfigVersion.cmake
    COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/diskshiftConfig.cmake ${PROJECT_BINARY_DIR}/diskshiftConfigVersion.cmake
    DESTINATION ${DISKSHIFT_CMAKE_DIR})

# pkg-config: the prefix is found relative to the .pc file, so `cmake --install --prefix` works.
# A static library also needs its private dependencies on the consumer's link line.
file(RELATIVE_PATH DISKSHIFT_PC_PREFIX_FROM_PCDIR
    /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
set(DISKSHIFT_PC_REQUIRES "nlohmann_json")
set(DISKSHIFT_PC_REQUIRES_PRIVATE "fmt zlib libdeflate libxml-2.0 libguestfs")
if(NOT BUILD_SHARED_LIBS)
    string(APPEND DISKSHIFT_PC_REQUIRES " ${DISKSHIFT_PC_REQUIRES_PRIVATE}")
endif()
# A sanitized library (DISKSHIFT_SANITIZE) links only into programs that carry the run-time too.
list(JOIN DISKSHIFT_SANITIZER_FLAGS " " DISKSHIFT_PC_SANITIZER_FLAGS)
configure_file(${PROJECT_SOURCE_DIR}/cmake/diskshift.pc.in ${PROJECT_BINARY_DIR}/diskshift.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/diskshift.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
