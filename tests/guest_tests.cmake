# CTest properties of the imgfix guest tests (tests/cli/imgfix_test.cpp): each launches the
# libguestfs appliance several times (~25 s each under TCG on an idle machine, a minute or more on
# a loaded one), past the 120 s every discovered test gets. Names must match the TEST_CASEs.
foreach(name
        "imgfix guest: Debian 12 (interfaces, initramfs-tools), dry run first, then fixed once"
        "imgfix guest: CentOS 7 (ifcfg, GRUB 2, dracut) with a separate /boot"
        "imgfix guest: RHEL 9 (NetworkManager keyfile) and Ubuntu 22.04 (netplan)"
        "imgfix guest: SUSE 15 on btrfs, GRUB legacy CentOS 6, RHEL 8 with an LVM root and a separate /boot"
        "imgfix guest: --check-only fails a 32-bit guest whose small root is on the second disk")
    set_tests_properties("${name}" PROPERTIES TIMEOUT 1800 LABELS guest COST 2000)
endforeach()
# CTest starts the most costly tests first (COST, or the times of the last run). On a fresh clone
# there are no times yet: without these, the long guest and boot tests started last and ran alone
# for a quarter of an hour on a two-core machine while the other core idled. The order: the
# consumer test (it runs alone and builds on every core), the boot test, the guest tests, the rest.
set_tests_properties(
    "imgfix guest: SUSE 15 on btrfs, GRUB legacy CentOS 6, RHEL 8 with an LVM root and a separate /boot"
    PROPERTIES COST 3000)
