// diskshift — bytes: sources to read from and sinks to write to.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <diskshift/extent.hpp>

namespace diskshift {

/// Random-access bytes to read from. read_at() is safe to call from several threads at once.
class ByteSource {
public:
    virtual ~ByteSource() = default;

    /// The name used in messages: a path, or "archive.ova:disk1.vmdk" for a window.
    virtual const std::string& name() const = 0;
    virtual std::uint64_t size() const = 0;

    /// Reads exactly `buf.size()` bytes at `offset`. A range past size() throws
    /// Error(Errc::corrupt) naming the source and the offset; an operating-system failure throws
    /// Error(Errc::io).
    void read_at(std::span<std::byte> buf, std::uint64_t offset) const;

    /// Where [offset, offset + length) is stored: `data` where the underlying storage is allocated,
    /// `zero` for holes. The default says everything is data. The range must lie inside size().
    ExtentList allocation(std::uint64_t offset, std::uint64_t length) const;

    /// The bytes the storage occupies (a file's allocated blocks), or size() when unknown.
    virtual std::uint64_t allocated_bytes() const { return size(); }

private:
    virtual void do_read_at(std::span<std::byte> buf, std::uint64_t offset) const = 0;
    virtual ExtentList do_allocation(std::uint64_t offset, std::uint64_t length) const;
};

/// A file opened read-only; allocation() asks the file system through SEEK_DATA / SEEK_HOLE.
class FileSource final : public ByteSource {
public:
    explicit FileSource(const std::filesystem::path& path);
    ~FileSource() override;
    FileSource(const FileSource&) = delete;
    FileSource& operator=(const FileSource&) = delete;

    const std::string& name() const override { return name_; }
    std::uint64_t size() const override { return size_; }
    std::uint64_t allocated_bytes() const override;

private:
    void do_read_at(std::span<std::byte> buf, std::uint64_t offset) const override;
    ExtentList do_allocation(std::uint64_t offset, std::uint64_t length) const override;

    std::string name_;
    int fd_ = -1;
    std::uint64_t size_ = 0;
};

/// Bytes held in memory (tests, fuzzing, small embedded files).
class MemorySource final : public ByteSource {
public:
    MemorySource(std::vector<std::byte> bytes, std::string name);

    const std::string& name() const override { return name_; }
    std::uint64_t size() const override { return bytes_.size(); }

private:
    void do_read_at(std::span<std::byte> buf, std::uint64_t offset) const override;

    std::vector<std::byte> bytes_;
    std::string name_;
};

/// A window [offset, offset + length) of another source, read in place (a disk inside an OVA).
class SubrangeSource final : public ByteSource {
public:
    SubrangeSource(std::shared_ptr<const ByteSource> parent, std::uint64_t offset, std::uint64_t length,
                   std::string name);

    const std::string& name() const override { return name_; }
    std::uint64_t size() const override { return length_; }

private:
    void do_read_at(std::span<std::byte> buf, std::uint64_t offset) const override;
    ExtentList do_allocation(std::uint64_t offset, std::uint64_t length) const override;

    std::shared_ptr<const ByteSource> parent_;
    std::uint64_t offset_;
    std::uint64_t length_;
    std::string name_;
};

/// Bytes to write. Writers use a sink; the caller commits it once the writer has finished.
class ByteSink {
public:
    virtual ~ByteSink() = default;

    virtual const std::string& name() const = 0;
    /// Writes all of `data` at `offset`, growing the sink as needed.
    virtual void write_at(std::span<const std::byte> data, std::uint64_t offset) = 0;
    /// True when write_at() may be called from several threads at once for disjoint ranges.
    virtual bool concurrent_writes() const noexcept { return false; }
    /// Makes [offset, offset + length) read as zeros, punching a hole where the file system
    /// allows; grows the sink as needed.
    virtual void write_zeroes(std::uint64_t offset, std::uint64_t length) = 0;
    /// Sets the size, cutting or extending with zeros (a hole).
    virtual void resize(std::uint64_t size) = 0;
    virtual std::uint64_t size() const = 0;
    /// Makes everything written visible under the sink's final name (and durable, where the sink
    /// was asked to be).
    virtual void commit() = 0;
};

/// What FileSink::commit() does beyond the rename that makes the file appear complete.
enum class Durability {
    page_cache,  ///< the kernel writes the data back in its own time, as qemu-img and cp leave it
    synced,      ///< fsync the file before the rename and its folder after: it survives a power cut
};

/// Writes a file atomically. The bytes go to a temporary file in the destination's folder, named
/// ".<name>.diskshift-<pid>-<n>.tmp"; commit() renames it over the destination, after and before
/// the fsyncs that `durability` asks for. Readers therefore see no file or the complete one,
/// never a part. A sink destroyed without commit() removes its temporary file, and a new sink
/// removes the temporary files that runs killed earlier left for the same destination.
class FileSink final : public ByteSink {
public:
    explicit FileSink(const std::filesystem::path& destination, Durability durability = Durability::page_cache);
    ~FileSink() override;
    FileSink(const FileSink&) = delete;
    FileSink& operator=(const FileSink&) = delete;

    const std::string& name() const override { return name_; }
    void write_at(std::span<const std::byte> data, std::uint64_t offset) override;
    bool concurrent_writes() const noexcept override { return true; }
    void write_zeroes(std::uint64_t offset, std::uint64_t length) override;
    void resize(std::uint64_t size) override;
    std::uint64_t size() const override { return size_; }
    void commit() override;

    /// The temporary file's path (empty once committed).
    const std::filesystem::path& temporary_path() const noexcept { return temporary_; }

private:
    void write_zero_bytes(std::uint64_t offset, std::uint64_t length);

    std::filesystem::path destination_;
    Durability durability_;
    std::filesystem::path temporary_;
    std::string name_;
    int fd_ = -1;
    std::atomic<std::uint64_t> size_ = 0;  ///< atomic: write_at() runs on several threads
};

/// A sink in memory (tests, fuzzing). commit() only marks it committed.
class MemorySink final : public ByteSink {
public:
    explicit MemorySink(std::string name = "memory");

    const std::string& name() const override { return name_; }
    void write_at(std::span<const std::byte> data, std::uint64_t offset) override;
    void write_zeroes(std::uint64_t offset, std::uint64_t length) override;
    void resize(std::uint64_t size) override;
    std::uint64_t size() const override { return bytes_.size(); }
    void commit() override { committed_ = true; }

    const std::vector<std::byte>& bytes() const noexcept { return bytes_; }
    bool committed() const noexcept { return committed_; }

private:
    std::string name_;
    std::vector<std::byte> bytes_;
    bool committed_ = false;
};

}  // namespace diskshift
