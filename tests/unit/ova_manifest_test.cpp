// The OVA manifest and certificate parsers: the spellings producers write, and lines they cannot use.
#include <doctest/doctest.h>

#include "formats/ova/manifest.hpp"
#include "support/text.hpp"

using namespace diskshift::formats::ova;

namespace {

const std::string sha1_hex(40, 'a');
const std::string sha256_hex(64, 'b');
const std::string sha512_hex(128, 'c');

}  // namespace

TEST_CASE("OVA manifest: openssl and VirtualBox spellings, Oracle's hyphen, CRLF and mixed algorithms in one file")
{
    const std::string text = "SHA1(vm.ovf)= " + sha1_hex + "\n" +               // VMware, openssl dgst
                             "SHA256 (disk1.vmdk) = " + sha256_hex + "\r\n" +    // VirtualBox (IPRT)
                             "SHA-512(./disk2.vmdk)= " + std::string(128, 'C') + "\n" +  // Oracle, upper case
                             "\n"
                             "SHA256(odd (1).iso)=" + sha256_hex + "\n";       // no blank after '='
    const Manifest m = parse_manifest(text, "vm.mf");
    CHECK(m.warnings.empty());
    REQUIRE(m.entries.size() == 4);
    CHECK(m.entries[0].algorithm == "SHA1");
    CHECK(m.entries[0].file == "vm.ovf");
    CHECK(m.entries[0].digest == sha1_hex);
    CHECK(m.entries[1].algorithm == "SHA256");
    CHECK(m.entries[1].file == "disk1.vmdk");
    CHECK(m.entries[1].line == 2);
    CHECK(m.entries[2].algorithm == "SHA512");
    CHECK(m.entries[2].file == "disk2.vmdk");
    CHECK(m.entries[2].digest == sha512_hex);
    CHECK(m.entries[3].file == "odd (1).iso");
    REQUIRE(m.find("disk1.vmdk") != nullptr);
    CHECK(m.find("disk1.vmdk")->digest == sha256_hex);
    CHECK(m.find("missing.vmdk") == nullptr);
}

TEST_CASE("OVA manifest: unknown algorithms, wrong digest lengths, repeats and garbage are warnings, not errors")
{
    const std::string text = "MD5(vm.ovf)= 0123456789abcdef0123456789abcdef\n"
                             "SHA256(disk.vmdk)= abcd\n"
                             "SHA1(disk.vmdk)= " + sha1_hex + "\n" +
                             "SHA1(disk.vmdk)= " + std::string(40, 'd') + "\n" +
                             "this is not a digest line\n";
    const Manifest m = parse_manifest(text, "vm.mf");
    REQUIRE(m.entries.size() == 1);
    CHECK(m.entries[0].digest == sha1_hex);
    REQUIRE(m.warnings.size() == 4);
    CHECK(dstest::contains(m.warnings[0], "MD5 is not supported"));
    CHECK(dstest::contains(m.warnings[1], "line 2"));
    CHECK(dstest::contains(m.warnings[2], "listed again"));
    CHECK(dstest::contains(m.warnings[3], "line 5"));
    // The damaged SHA256 line still names its file: a package refuses to read it unverified.
    CHECK(m.damaged == std::vector<std::string>{"disk.vmdk"});
}

TEST_CASE("OVA certificate: the signing line and whether an X.509 certificate follows")
{
    const Certificate cert = parse_certificate("SHA256(vm.mf)= 0a1b2c\n-----BEGIN CERTIFICATE-----\nMIIB\n"
                                               "-----END CERTIFICATE-----\n", "vm.cert");
    CHECK(cert.algorithm == "SHA256");
    CHECK(cert.signed_file == "vm.mf");
    CHECK(cert.has_x509);
    const Certificate junk = parse_certificate("nothing useful\n", "vm.cert");
    CHECK(junk.algorithm.empty());
    CHECK_FALSE(junk.has_x509);
}
