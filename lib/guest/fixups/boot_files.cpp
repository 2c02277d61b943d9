#include "guest/fixups/boot_files.hpp"

#include <algorithm>
#include <set>

#include "guest/fixups/config_text.hpp"

namespace diskshift::guest::fixups {
namespace {

/// The module name of a module file path: its base name without .ko and compression suffix, with
/// '-' read as '_' as modprobe does.
std::string module_name(std::string_view path)
{
    const auto slash = path.rfind('/');
    std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
    const auto ko = name.find(".ko");
    if (ko == std::string_view::npos) {
        return {};
    }
    std::string out(name.substr(0, ko));
    std::ranges::replace(out, '-', '_');
    return out;
}

/// The module names listed at the start of each line of a modules.dep or modules.builtin file.
std::set<std::string> listed_modules(const GuestFs& fs, const std::string& file)
{
    std::set<std::string> names;
    for (const auto& line : split_lines(fs.read_file(file))) {
        const auto colon = line.find(':');
        names.insert(module_name(std::string_view(line).substr(0, colon)));
    }
    return names;
}

/// The module files below `folder`, walked through the guest (kernel trees are a few levels deep).
void collect_module_files(const GuestFs& fs, const std::string& folder, int depth, std::set<std::string>& names)
{
    constexpr int max_depth = 12;
    if (depth > max_depth) {
        return;
    }
    for (const auto& name : fs.list(folder)) {
        const std::string path = folder + "/" + name;
        if (fs.is_directory(path)) {
            collect_module_files(fs, path, depth + 1, names);
        } else if (!module_name(name).empty()) {
            names.insert(module_name(name));
        }
    }
}

std::string underscored(std::string_view driver)
{
    std::string out(driver);
    std::ranges::replace(out, '-', '_');
    return out;
}

/// Compares version strings piece by piece, numbers as numbers ("5.14.0-70" < "5.14.0-162").
bool version_less(const std::string& a, const std::string& b)
{
    std::size_t i = 0;
    std::size_t j = 0;
    while (i < a.size() && j < b.size()) {
        if (std::isdigit(static_cast<unsigned char>(a[i])) && std::isdigit(static_cast<unsigned char>(b[j]))) {
            const std::size_t i_end = a.find_first_not_of("0123456789", i);
            const std::size_t j_end = b.find_first_not_of("0123456789", j);
            std::string x = a.substr(i, i_end - i);
            std::string y = b.substr(j, j_end - j);
            x.erase(0, std::min(x.find_first_not_of('0'), x.size()));
            y.erase(0, std::min(y.find_first_not_of('0'), y.size()));
            if (x.size() != y.size() || x != y) {
                return x.size() != y.size() ? x.size() < y.size() : x < y;
            }
            i = std::min(i_end, a.size());
            j = std::min(j_end, b.size());
        } else {
            if (a[i] != b[j]) {
                return a[i] < b[j];
            }
            ++i;
            ++j;
        }
    }
    return a.size() - i < b.size() - j;
}

bool is_debug_kernel(const Kernel& kernel) { return kernel.version.find("debug") != std::string::npos; }

}  // namespace

bool KernelDrivers::has_storage_driver() const
{
    for (const std::string_view storage : {"virtio_blk", "virtio_scsi", "xen-blkfront", "nvme"}) {
        const auto has = [&](const std::string& name) { return name == storage; };
        if (std::ranges::any_of(modules, has) || std::ranges::any_of(builtin, has)) {
            return true;
        }
    }
    return false;
}

KernelDrivers find_drivers(const GuestFs& fs, const std::string& version)
{
    const std::string folder = "/lib/modules/" + version;
    std::set<std::string> loadable;
    if (fs.exists(folder + "/modules.dep")) {
        loadable = listed_modules(fs, folder + "/modules.dep");
    } else {
        collect_module_files(fs, folder, 0, loadable);
    }
    const std::set<std::string> builtin =
        fs.exists(folder + "/modules.builtin") ? listed_modules(fs, folder + "/modules.builtin") : std::set<std::string>{};
    KernelDrivers found;
    for (const auto driver : pv_drivers) {
        const std::string name = underscored(driver);
        auto& list = builtin.contains(name) ? found.builtin : loadable.contains(name) ? found.modules : found.missing;
        list.emplace_back(driver);
    }
    return found;
}

std::vector<Kernel> installed_kernels(const GuestFs& fs, const OsInfo& os)
{
    if (!os.kernels.empty()) {
        return os.kernels;
    }
    std::vector<Kernel> kernels;
    for (const auto& version : fs.list("/lib/modules")) {
        if (fs.is_directory("/lib/modules/" + version)) {
            const std::string image = "/boot/vmlinuz-" + version;
            std::string initrd;
            for (const auto& candidate : {"/boot/initramfs-" + version + ".img", "/boot/initrd.img-" + version,
                                          "/boot/initrd-" + version}) {
                if (initrd.empty() && fs.exists(candidate)) {
                    initrd = candidate;
                }
            }
            kernels.push_back({version, image, initrd});
        }
    }
    std::ranges::sort(kernels, [](const Kernel& a, const Kernel& b) { return version_less(b.version, a.version); });
    return kernels;
}

const Kernel& default_kernel(const GuestFs& fs, const std::vector<Kernel>& kernels)
{
    for (const auto& kernel : kernels) {
        if (!is_debug_kernel(kernel) && find_drivers(fs, kernel.version).has_storage_driver()) {
            return kernel;
        }
    }
    const auto non_debug = std::ranges::find_if(kernels, [](const Kernel& k) { return !is_debug_kernel(k); });
    return non_debug != kernels.end() ? *non_debug : kernels.front();
}

bool has_program(const GuestFs& fs, std::string_view program)
{
    return std::ranges::any_of(std::array<std::string_view, 4>{"/usr/sbin/", "/usr/bin/", "/sbin/", "/bin/"},
                               [&](std::string_view folder) { return fs.exists(std::string(folder) + std::string(program)); });
}

}  // namespace diskshift::guest::fixups
