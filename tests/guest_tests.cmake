# CTest properties of the imgfix guest tests (tests/cli/imgfix_test.cpp): each launches the
# libguestfs appliance several times (~25 s each under TCG on an idle machine, a minute or more on
# a loaded one), past the 120 s every discovered test gets. Names must match the TEST_CASEs.
foreach(name
        "imgfix guest: Debian 12 (interfaces, initramfs-tools), dry run first, then fixed once"
    set_tests_properties("${name}" PROPERTIES TIMEOUT 1800 LABELS guest)
endforeach()
