import XCTest

@testable import CivitasCore

/// Tests of the QR code encoder. Every expected constant below (matrices, codewords, format and version bits, capacities)
/// was produced by an independent implementation, the Python `qrcode` package 8.2, not by this encoder.
final class QRCodeTests: XCTestCase {
    /// "HELLO WORLD", byte mode, level M, version 1, mask 4 (python-qrcode 8.2 with `mask_pattern=4`, `border=0`).
    /// Mask 4 is also the lowest-penalty mask: python-qrcode's `lost_point` scores the eight final symbols
    /// 415, 370, 303, 480, 291, 396, 381, 477.
    private static let helloWorldMatrix: [String] = [
        "#######.##..#.#######",
        "#.....#....#..#.....#",
        "#.###.#..#.#..#.###.#",
        "#.###.#.#..#..#.###.#",
        "#.###.#.###.#.#.###.#",
        "#.....#.#..#..#.....#",
        "#######.#.#.#.#######",
        "........#..##........",
        "#...#.######.#####..#",
        "...#....#.###....####",
        "..######..##.##.#..#.",
        "#####...##...#.......",
        "#####.#.#.#.#.##..##.",
        "........#.#.####.#.##",
        "#######.###.#.#.##.#.",
        "#.....#..#.###.##..##",
        "#.###.#.##.#.##...##.",
        "#.###.#..#..#...##.##",
        "#.###.#..###...###...",
        "#.....#....#.#.......",
        "#######.#########.#.#",
    ]

    /// The final (interleaved, error-corrected) codewords of "HELLO WORLD" at 1-M, from python-qrcode's `create_data`.
    private static let helloWorldCodewords: [UInt8] = [
        0x40, 0xB4, 0x84, 0x54, 0xC4, 0xC4, 0xF2, 0x05, 0x74, 0xF5, 0x24, 0xC4, 0x40,
        0xEC, 0x11, 0xEC, 0x0C, 0x4B, 0xCF, 0x9A, 0x89, 0x4F, 0x65, 0x09, 0x97, 0xCC,
    ]

    /// Format information at level M for masks 0...7, after the 0x5412 mask (python-qrcode `BCH_type_info`).
    private static let levelMFormatBits = [
        0b1010100_00010010, 0b1010001_00100101, 0b1011110_01111100, 0b1011011_01001011,
        0b1000101_11111001, 0b1000000_11001110, 0b1001111_10010111, 0b1001010_10100000,
    ]

    /// Version information for versions 7...20 (python-qrcode `BCH_type_number`).
    private static let versionBits = [
        0x7C94, 0x85BC, 0x9A99, 0xA4D3, 0xBBF6, 0xC762, 0xD847, 0xE60D, 0xF928, 0x10B78, 0x1145D, 0x12A17, 0x13532, 0x149A6,
    ]

    /// The largest byte count that fits each version 1...20 at level M in byte mode (python-qrcode capacity search).
    private static let byteCapacities = [14, 26, 42, 62, 84, 106, 122, 152, 180, 213, 251, 287, 331, 362, 412, 450, 504, 560, 624, 666]

    private static let otpauthURL = "otpauth://totp/Civitas:alice%40example.org?secret=JBSWY3DPEHPK3PXP&issuer=Civitas"

    func testShortTextIsVersion1() throws {
        let code = try XCTUnwrap(QRCode(text: "hi"))
        XCTAssertEqual(code.size, 21)
        XCTAssertEqual(code.modules.count, 21 * 21)
        XCTAssertEqual(code.version, 1)
    }

    func testOtpauthURLFitsWithFinderPatternsAtThreeCorners() throws {
        let code = try XCTUnwrap(QRCode(text: Self.otpauthURL))
        // 81 bytes: more than version 4 holds (62), within version 5 (84).
        XCTAssertEqual(code.version, 5)
        XCTAssertEqual(code.size, 37)
        assertFinderPattern(code, left: 0, top: 0)
        assertFinderPattern(code, left: code.size - 7, top: 0)
        assertFinderPattern(code, left: 0, top: code.size - 7)
        // No finder pattern in the bottom-right corner.
        XCTAssertFalse((0..<7).allSatisfy { code.isDark(x: code.size - 7 + $0, y: code.size - 7) })
    }

    func testTooLongTextGivesNil() {
        XCTAssertNil(QRCode(text: String(repeating: "x", count: 2000)))
        XCTAssertNil(QRCode(text: String(repeating: "x", count: 667)))
        XCTAssertEqual(QRCode(text: String(repeating: "x", count: 666))?.size, 97)
    }

    func testSmallestFittingVersionIsChosenAtEveryCapacityBoundary() {
        for (index, capacity) in Self.byteCapacities.enumerated() {
            let version = index + 1
            XCTAssertEqual(QRCode.smallestVersion(byteCount: capacity), version, "\(capacity) bytes")
            XCTAssertEqual(QRCode.smallestVersion(byteCount: capacity + 1), version < 20 ? version + 1 : nil)
        }
        // Full encodes at a few boundaries (kept few: encoding is slow in debug builds).
        for version in [1, 6, 7, 10] {
            let capacity = Self.byteCapacities[version - 1]
            XCTAssertEqual(QRCode(text: String(repeating: "a", count: capacity))?.size, 17 + 4 * version)
            XCTAssertEqual(QRCode(text: String(repeating: "a", count: capacity + 1))?.size, 21 + 4 * version)
        }
    }

    func testNonASCIITextIsMeasuredInUTF8Bytes() throws {
        let text = String(repeating: "año ñandú ", count: 23) + "x"
        XCTAssertEqual(text.utf8.count, 300)
        let code = try XCTUnwrap(QRCode(text: text))
        // 300 bytes exceed version 12 (287) and fit version 13 (331).
        XCTAssertEqual(code.version, 13)
        XCTAssertEqual(code.size, 69)
    }

    func testHelloWorldKnownAnswerMatrix() throws {
        let code = try XCTUnwrap(QRCode(text: "HELLO WORLD"))
        XCTAssertEqual(code.mask, 4)
        XCTAssertEqual(render(code), Self.helloWorldMatrix)
        let forced = try XCTUnwrap(QRCode(text: "HELLO WORLD", forcedMask: 4))
        XCTAssertEqual(forced, code)
    }

    func testHelloWorldFormatInformationInBothCopies() throws {
        let code = try XCTUnwrap(QRCode(text: "HELLO WORLD"))
        let expected = Self.levelMFormatBits[4]
        // First copy, most significant bit first: row 8 from the left (skipping the timing column), then column 8 upwards.
        let firstPositions = [
            (0, 8), (1, 8), (2, 8), (3, 8), (4, 8), (5, 8), (7, 8), (8, 8),
            (8, 7), (8, 5), (8, 4), (8, 3), (8, 2), (8, 1), (8, 0),
        ]
        // Second copy, most significant bit first: column 8 upwards from the bottom, then row 8 towards the right edge.
        let size = code.size
        let secondPositions = (0..<7).map { (8, size - 1 - $0) } + (0..<8).map { (size - 8 + $0, 8) }
        for positions in [firstPositions, secondPositions] {
            let value = positions.reduce(0) { ($0 << 1) | (code.isDark(x: $1.0, y: $1.1) ? 1 : 0) }
            XCTAssertEqual(value, expected)
        }
        XCTAssertTrue(code.isDark(x: 8, y: size - 8), "dark module")
    }

    func testHelloWorldCodewords() {
        let bytes = Array("HELLO WORLD".utf8)
        let layout = QRCode.layout(version: 1)
        let data = QRCode.dataCodewords(bytes: bytes, version: 1, capacity: layout.dataCodewords)
        XCTAssertEqual(QRCode.interleave(data: data, layout: layout), Self.helloWorldCodewords)
    }

    func testFormatAndVersionInformationBits() {
        XCTAssertEqual((0..<8).map { QRCode.formatBits(mask: $0) }, Self.levelMFormatBits)
        XCTAssertEqual((7...20).map { QRCode.versionBits(version: $0) }, Self.versionBits)
    }

    func testVersionInformationIsDrawnFromVersion7() throws {
        let code = try XCTUnwrap(QRCode(text: String(repeating: "v", count: 150)))
        XCTAssertEqual(code.version, 8)
        // Bit i sits at column size-11+i%3, row i/3 (top right) and transposed (bottom left).
        for index in 0..<18 {
            let expected = (Self.versionBits[1] >> index) & 1 == 1
            XCTAssertEqual(code.isDark(x: code.size - 11 + index % 3, y: index / 3), expected)
            XCTAssertEqual(code.isDark(x: index / 3, y: code.size - 11 + index % 3), expected)
        }
    }

    func testBlockLayoutsFillTheDataArea() {
        for version in 1...20 {
            var grid = QRCode.Grid(version: version)
            grid.drawFunctionPatterns()
            let dataModules = grid.isFunction.filter { !$0 }.count
            let layout = QRCode.layout(version: version)
            XCTAssertEqual(dataModules / 8, layout.totalCodewords, "version \(version)")
            XCTAssertTrue([0, 3, 4, 7].contains(dataModules % 8), "remainder bits for version \(version)")
        }
    }

    func testSVGEscapesLabelAndHasTheRequiredAttributes() throws {
        let code = try XCTUnwrap(QRCode(text: "hi"))
        let svg = code.svg(label: "Tom & Jerry's <\"code\">")
        XCTAssertTrue(svg.contains("aria-label=\"Tom &amp; Jerry&apos;s &lt;&quot;code&quot;&gt;\""))
        XCTAssertFalse(svg.contains("Jerry's"))
        XCTAssertTrue(svg.contains("viewBox=\"0 0 29 29\""))
        XCTAssertTrue(svg.contains("role=\"img\""))
        XCTAssertTrue(svg.contains("shape-rendering=\"crispEdges\""))
        XCTAssertFalse(svg.contains("width=\"29\" height=\"29\" viewBox"))
        XCTAssertFalse(svg.hasPrefix("<svg width"))
        XCTAssertEqual(svg.components(separatedBy: "<path").count, 2, "exactly one path")
        // The top-left finder's first row starts at the quiet-zone offset and is seven modules wide.
        XCTAssertTrue(svg.contains("d=\"M4 4h7v1h-7z"))
    }

    func testModulesOutsideTheSymbolAreLight() throws {
        let code = try XCTUnwrap(QRCode(text: "hi"))
        XCTAssertFalse(code.isDark(x: -1, y: 0))
        XCTAssertFalse(code.isDark(x: 0, y: code.size))
        XCTAssertTrue(code.isDark(x: 0, y: 0))
    }

    func testEncodingIsDeterministic() {
        XCTAssertEqual(QRCode(text: Self.otpauthURL), QRCode(text: Self.otpauthURL))
        XCTAssertNotEqual(QRCode(text: "a"), QRCode(text: "b"))
    }

    // MARK: - Helpers

    private func render(_ code: QRCode) -> [String] {
        (0..<code.size).map { y in String((0..<code.size).map { code.isDark(x: $0, y: y) ? "#" : "." }) }
    }

    /// Asserts a 7×7 finder pattern (dark ring, light ring, dark 3×3 core) with its light separator inside the symbol.
    private func assertFinderPattern(_ code: QRCode, left: Int, top: Int, file: StaticString = #filePath, line: UInt = #line) {
        for dy in -1...7 {
            for dx in -1...7 {
                let x = left + dx
                let y = top + dy
                guard x >= 0, y >= 0, x < code.size, y < code.size else {
                    continue
                }
                let ring = max(abs(dx - 3), abs(dy - 3))
                let expected = ring != 2 && ring != 4
                XCTAssertEqual(code.isDark(x: x, y: y), expected, "finder at (\(left), \(top)), module (\(x), \(y))", file: file, line: line)
            }
        }
    }
}
