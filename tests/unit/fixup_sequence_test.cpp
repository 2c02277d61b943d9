// The four fixups in imgfix's order on one CentOS 7 guest: what each leaves for the next (the
// network's eth0 needs the GRUB fixup's net.ifnames=0), and a second pass that changes nothing.
#include <doctest/doctest.h>

#include "guest/fixups/fixups.hpp"
#include "guest/local_dir_fs.hpp"
#include "support/guest_tree.hpp"
#include "support/temp_dir.hpp"

namespace {

using namespace diskshift::guest;

std::vector<Change> fix_all(GuestFs& guest, const OsInfo& os)
{
    std::vector<Change> all;
    for (auto* fixup : {fixups::fix_fstab, fixups::fix_network, fixups::fix_grub, fixups::fix_initrd}) {
        const auto changes = fixup(guest, os, FixOptions{});
        all.insert(all.end(), changes.begin(), changes.end());
    }
    return all;
}

}  // namespace

TEST_CASE("fixup sequence: a CentOS 7 guest from VMware, fstab, network, grub, initrd, then nothing")
{
    dstest::TempDir dir;
    const std::string kernel = "3.10.0-1160.el7.x86_64";
    dstest::put_file(dir / "etc/fstab", "/dev/sda2 / xfs defaults 0 0\n/dev/sda1 /boot xfs defaults 0 0\n"
                                        "/dev/sdb1 /srv xfs defaults 0 0\nnas:/export /mnt/nfs nfs defaults 0 0\n");
    dstest::put_file(dir / "etc/sysconfig/network-scripts/ifcfg-ens192",
                     "TYPE=Ethernet\nDEVICE=ens192\nBOOTPROTO=none\nHWADDR=00:50:56:aa:bb:cc\nIPADDR=10.0.0.5\n");
    dstest::put_file(dir / "etc/default/grub", "GRUB_TIMEOUT=5\nGRUB_DEFAULT=saved\nGRUB_CMDLINE_LINUX=\"rhgb quiet\"\n");
    dstest::put_file(dir / "boot/grub2/grub.cfg",
                     "menuentry 'CentOS Linux (" + kernel + ") 7 (Core)' $menuentry_id_option 'gnulinux-" + kernel +
                     "-advanced-9f' {\n\tlinux16 /vmlinuz-" + kernel + " root=/dev/sda2 ro\n}\n");
    dstest::put_file(dir / ("boot/initramfs-" + kernel + ".img"), "old initrd");
    dstest::put_file(dir / ("lib/modules/" + kernel + "/modules.dep"),
                     "kernel/drivers/block/virtio_blk.ko.xz:\nkernel/drivers/net/virtio_net.ko.xz:\n"
                     "kernel/drivers/block/xen-blkfront.ko.xz:\nkernel/drivers/nvme/host/nvme.ko.xz:\n");
    dstest::put_file(dir / ("lib/modules/" + kernel + "/modules.builtin"), "kernel/drivers/virtio/virtio_pci.ko\n");
    dstest::put_fake_tool(dir.path(), "/usr/sbin/grub2-mkconfig");
    dstest::put_fake_tool(dir.path(), "/usr/bin/dracut");
    LocalDirGuestFs guest(dir.path());
    OsInfo os;
    os.distribution = "centos";
    os.bootloader = "grub2";
    os.initrd_tool = "dracut";
    os.filesystems = {{"/dev/sda1", "xfs", "9f0e8d7c-0000-4000-8000-000000000001", "", "/boot"},
                      {"/dev/sda2", "xfs", "9f0e8d7c-0000-4000-8000-000000000002", "", "/"}};
    os.kernels = {{kernel, "/boot/vmlinuz-" + kernel, "/boot/initramfs-" + kernel + ".img"}};

    const auto changes = fix_all(guest, os);
    CHECK(changes.size() == 8);
    CHECK(guest.read_file("/etc/sysconfig/network-scripts/ifcfg-eth0").find("DEVICE=eth0\n") != std::string::npos);
    CHECK(guest.read_file("/etc/default/grub").find("net.ifnames=0 biosdevname=0") != std::string::npos);
    CHECK(dstest::fake_tool_calls(dir.path()) ==
          std::vector<std::string>{"grub2-mkconfig -o /boot/grub2/grub.cfg",
                                   "dracut -f --add-drivers virtio_blk virtio_net xen-blkfront nvme /boot/initramfs-" +
                                       kernel + ".img " + kernel});

    CHECK(fix_all(guest, os).empty());
    CHECK(dstest::fake_tool_calls(dir.path()).size() == 2);
}
