// The initrd fixup on the local-directory backend: driver lookup, configuration per initrd tool,
// the guest's tool called with the right kernel version, the old initrd kept.
#include <doctest/doctest.h>

#include "guest/fixups/fixups.hpp"
#include "guest/local_dir_fs.hpp"
#include "support/guest_tree.hpp"
#include "support/temp_dir.hpp"

namespace {

using namespace diskshift::guest;
using Lines = std::vector<std::string>;

const Change* ran(const std::vector<Change>& changes)
{
    for (const auto& change : changes) {
        if (change.action == "ran") {
            return &change;
        }
    }
    return nullptr;
}

}  // namespace

TEST_CASE("fixup initrd: CentOS 7 dracut, the newest non-debug kernel, the old initrd kept")
{
    dstest::TempDir dir;
    const std::string newest = "3.10.0-1160.el7.x86_64";
    const std::string older = "3.10.0-957.el7.x86_64";
    const std::string debug = "3.10.0-1160.el7.x86_64.debug";
    dstest::put_file(dir / ("lib/modules/" + newest + "/modules.dep"),
                     "kernel/drivers/block/virtio_blk.ko.xz:\nkernel/drivers/scsi/virtio_scsi.ko.xz:\n"
                     "kernel/drivers/net/virtio_net.ko.xz:\nkernel/drivers/virtio/virtio_pci.ko.xz:\n"
                     "kernel/drivers/block/xen-blkfront.ko.xz:\nkernel/drivers/net/xen-netfront.ko.xz:\n"
                     "kernel/drivers/nvme/host/nvme.ko.xz: kernel/drivers/nvme/host/nvme-core.ko.xz\n");
    dstest::put_file(dir / ("lib/modules/" + debug + "/modules.dep"), "kernel/drivers/block/virtio_blk.ko.xz:\n");
    dstest::put_file(dir / ("lib/modules/" + older + "/modules.dep"), "kernel/drivers/block/virtio_blk.ko.xz:\n");
    dstest::put_file(dir / ("boot/initramfs-" + newest + ".img"), "old initrd");
    dstest::put_fake_tool(dir.path(), "/usr/bin/dracut");
    LocalDirGuestFs guest(dir.path());
    OsInfo os;
    os.distribution = "centos";
    os.initrd_tool = "dracut";
    os.kernels = {{debug, "/boot/vmlinuz-" + debug, ""},
                  {newest, "/boot/vmlinuz-" + newest, "/boot/initramfs-" + newest + ".img"},
                  {older, "/boot/vmlinuz-" + older, "/boot/initramfs-" + older + ".img"}};

    const auto changes = fixups::fix_initrd(guest, os, FixOptions{});
    const std::string drivers = "virtio_blk virtio_scsi virtio_net virtio_pci xen-blkfront xen-netfront nvme";
    CHECK(guest.read_file("/etc/dracut.conf.d/diskshift-pv-drivers.conf").ends_with("add_drivers+=\" " + drivers + " \"\n"));
    CHECK(dstest::fake_tool_calls(dir.path()) ==
          Lines{"dracut -f --add-drivers " + drivers + " /boot/initramfs-" + newest + ".img " + newest});
    const Change* rebuild = ran(changes);
    REQUIRE(rebuild);
    CHECK(rebuild->backup == "/boot/initramfs-" + newest + ".img.diskshift.orig");
    CHECK(rebuild->detail.find("missing ena") != std::string::npos);
    CHECK(guest.read_file("/boot/initramfs-" + newest + ".img.diskshift.orig") == "old initrd");

    CHECK(fixups::fix_initrd(guest, os, FixOptions{}).empty());
    CHECK(dstest::fake_tool_calls(dir.path()).size() == 1);
}

TEST_CASE("fixup initrd: Debian 12 initramfs-tools, module files without modules.dep, every kernel")
{
    dstest::TempDir dir;
    const std::string newer = "6.1.0-13-amd64";
    const std::string older = "6.1.0-9-amd64";
    for (const auto& version : {newer, older}) {
        const std::string tree = "lib/modules/" + version + "/kernel/drivers/";
        for (const auto& module : {"block/virtio_blk.ko", "block/xen-blkfront.ko", "net/virtio_net.ko",
                                   "nvme/host/nvme.ko", "net/ethernet/amazon/ena/ena.ko"}) {
            dstest::put_file(dir / (tree + module), "");
        }
        dstest::put_file(dir / ("lib/modules/" + version + "/modules.builtin"), "kernel/drivers/virtio/virtio_pci.ko\n");
    }
    dstest::put_file(dir / ("boot/initrd.img-" + newer), "old initrd");
    dstest::put_file(dir / "etc/initramfs-tools/modules", "# List of modules\nvirtio_net\n");
    dstest::put_fake_tool(dir.path(), "/usr/sbin/update-initramfs");
    LocalDirGuestFs guest(dir.path());
    OsInfo os;
    os.distribution = "debian";
    os.initrd_tool = "initramfs-tools";
    FixOptions options;
    options.all_kernels = true;

    const auto changes = fixups::fix_initrd(guest, os, options);
    CHECK(guest.read_file("/etc/initramfs-tools/modules") ==
          "# List of modules\nvirtio_net\n# diskshift: the paravirtual drivers the targets need.\n"
          "virtio_blk\nxen-blkfront\nnvme\nena\n");
    CHECK(guest.read_file("/etc/initramfs-tools/modules.diskshift.orig") == "# List of modules\nvirtio_net\n");
    CHECK(dstest::fake_tool_calls(dir.path()) ==
          Lines{"update-initramfs -u -k " + newer, "update-initramfs -c -k " + older});
    const Change* rebuild = ran(changes);
    REQUIRE(rebuild);
    CHECK(rebuild->detail == "initrd " + newer + ": modules virtio_blk virtio_net xen-blkfront nvme ena; "
                             "built in virtio_pci; missing virtio_scsi xen-netfront");

    CHECK(fixups::fix_initrd(guest, os, options).empty());
}

TEST_CASE("fixup initrd: SUSE 15 INITRD_MODULES and dracut with the SUSE initrd name")
{
    dstest::TempDir dir;
    const std::string version = "5.14.21-150500.53-default";
    dstest::put_file(dir / ("lib/modules/" + version + "/modules.dep"),
                     "kernel/drivers/block/virtio_blk.ko.zst:\nkernel/drivers/net/ethernet/amazon/ena/ena.ko.zst:\n");
    dstest::put_file(dir / "etc/sysconfig/kernel", "## Type: string\nINITRD_MODULES=\"ahci\"\nNO_KMS_IN_INITRD=\"no\"\n");
    dstest::put_fake_tool(dir.path(), "/usr/bin/dracut");
    LocalDirGuestFs guest(dir.path());
    OsInfo os;
    os.distribution = "sles";

    const auto changes = fixups::fix_initrd(guest, os, FixOptions{});
    CHECK(guest.read_file("/etc/sysconfig/kernel") ==
          "## Type: string\nINITRD_MODULES=\"ahci virtio_blk ena\"\nNO_KMS_IN_INITRD=\"no\"\n");
    CHECK(dstest::fake_tool_calls(dir.path()) ==
          Lines{"dracut -f --add-drivers virtio_blk ena /boot/initrd-" + version + " " + version});
    const Change* rebuild = ran(changes);
    REQUIRE(rebuild);
    CHECK(rebuild->backup.empty());

    CHECK(fixups::fix_initrd(guest, os, FixOptions{}).empty());
}
