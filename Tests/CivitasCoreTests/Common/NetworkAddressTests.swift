import Testing

@testable import CivitasCore

@Suite("Network addresses: what is out on the internet and what is inside")
struct NetworkAddressTests {
    @Test("loopback, private, link-local, shared, multicast and unspecified addresses are inside; the rest are public")
    func classifies() {
        let inside: [[UInt8]] = [
            [127, 0, 0, 1], [10, 1, 2, 3], [172, 16, 0, 1], [172, 31, 255, 255], [192, 168, 1, 1], [169, 254, 169, 254], [100, 64, 0, 1],
            [0, 0, 0, 0], [224, 0, 0, 1], [255, 255, 255, 255],
            Array(repeating: 0, count: 15) + [1], Array(repeating: 0, count: 16), [0xfd] + Array(repeating: 0, count: 14) + [1],
            [0xfe, 0x80] + Array(repeating: 0, count: 13) + [1], Array(repeating: 0, count: 10) + [0xff, 0xff, 127, 0, 0, 1],
            [0x20, 0x02, 10, 0, 0, 1] + Array(repeating: 0, count: 10), [0xff, 0x02] + Array(repeating: 0, count: 13) + [1],
        ]
        for address in inside { #expect(!NetworkAddress.isPublic(address), "\(address)") }
        let outside: [[UInt8]] = [
            [8, 8, 8, 8], [172, 32, 0, 1], [100, 128, 0, 1], [93, 184, 216, 34], Array(repeating: 0, count: 10) + [0xff, 0xff, 8, 8, 8, 8],
            [0x26, 0x06, 0x47, 0x00] + Array(repeating: 0, count: 11) + [1],
        ]
        for address in outside { #expect(NetworkAddress.isPublic(address), "\(address)") }
        #expect(!NetworkAddress.isPublic([1, 2, 3]))
    }

    @Test("literals are read as HTTP clients read them, without a lookup; names give nothing until resolved")
    func literals() async {
        #expect(NetworkAddress.literal("2130706433") == [[127, 0, 0, 1]])
        #expect(NetworkAddress.literal("0x7f.1") == [[127, 0, 0, 1]])
        #expect(NetworkAddress.literal("[::1]") == [Array(repeating: 0, count: 15) + [1]])
        #expect(NetworkAddress.literal("8.8.8.8") == [[8, 8, 8, 8]])
        #expect(NetworkAddress.literal("example.org").isEmpty)
        let local = await NetworkAddress.resolve("localhost")
        #expect(!local.isEmpty && local.allSatisfy { !NetworkAddress.isPublic($0) })
        #expect(await NetworkAddress.resolve("no-such-host.invalid").isEmpty)
    }
}
