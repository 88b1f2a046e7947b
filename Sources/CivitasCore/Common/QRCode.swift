import Foundation

/// A QR code symbol (ISO/IEC 18004, model 2) that holds a text in byte mode at error correction level M.
///
/// The encoder picks the smallest version from 1 to 20 that fits the UTF-8 bytes of the text, adds Reed–Solomon
/// error correction, draws the function patterns, and applies whichever of the eight data masks scores the lowest
/// penalty under the four standard rules.
public struct QRCode: Sendable, Equatable {
    /// Modules per side: 21 for version 1, growing by 4 with each version.
    public let size: Int
    /// All modules, row by row from the top left; `true` is a dark module.
    public let modules: [Bool]
    /// The symbol version, 1 through 20.
    let version: Int
    /// The data mask pattern that was applied, 0 through 7.
    let mask: Int

    /// Whether the module at column `x` and row `y` is dark. Coordinates outside the symbol (the quiet zone) are light.
    public func isDark(x: Int, y: Int) -> Bool {
        guard x >= 0, y >= 0, x < size, y < size else {
            return false
        }
        return modules[y * size + x]
    }

    /// Byte mode (UTF-8), error correction level M, the smallest version 1...20 that fits; nil when the text does not fit.
    public init?(text: String) {
        self.init(text: text, forcedMask: nil)
    }

    /// Encodes like `init?(text:)`, but applies `forcedMask` (0...7) instead of choosing the mask when it is given.
    init?(text: String, forcedMask: Int?) {
        if let forcedMask, !(0..<8).contains(forcedMask) {
            return nil
        }
        let bytes = Array(text.utf8)
        guard let version = QRCode.smallestVersion(byteCount: bytes.count) else {
            return nil
        }
        let layout = QRCode.layout(version: version)
        let data = QRCode.dataCodewords(bytes: bytes, version: version, capacity: layout.dataCodewords)
        let codewords = QRCode.interleave(data: data, layout: layout)

        var grid = Grid(version: version)
        grid.drawFunctionPatterns()
        grid.placeCodewords(codewords)

        var best: Grid?
        var bestMask = 0
        var bestPenalty = Int.max
        for candidate in forcedMask.map({ [$0] }) ?? Array(0..<8) {
            var masked = grid
            masked.applyMask(candidate)
            masked.drawFormatInformation(mask: candidate)
            let penalty = forcedMask == nil ? masked.penalty() : 0
            if penalty < bestPenalty {
                best = masked
                bestMask = candidate
                bestPenalty = penalty
            }
        }
        guard let best else {
            return nil
        }
        self.size = best.size
        self.modules = best.dark
        self.version = version
        self.mask = bestMask
    }

    /// An SVG image (viewBox with a 4-module quiet zone, one <path> of dark squares, shape-rendering crispEdges,
    /// role="img" and aria-label given), width/height attributes omitted so CSS sizes it.
    public func svg(label: String) -> String {
        let quietZone = 4
        let side = size + 2 * quietZone
        var path = ""
        for y in 0..<size {
            var x = 0
            while x < size {
                guard isDark(x: x, y: y) else {
                    x += 1
                    continue
                }
                let start = x
                while x < size, isDark(x: x, y: y) {
                    x += 1
                }
                path += "M\(start + quietZone) \(y + quietZone)h\(x - start)v1h-\(x - start)z"
            }
        }
        return "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(side) \(side)\" role=\"img\" "
            + "aria-label=\"\(QRCode.escapeXML(label))\" shape-rendering=\"crispEdges\">"
            + "<rect width=\"\(side)\" height=\"\(side)\" fill=\"#fff\"/>"
            + "<path fill=\"#000\" d=\"\(path)\"/></svg>"
    }

    /// Escapes the five characters that XML treats specially.
    static func escapeXML(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&apos;"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    // MARK: - Data encoding

    /// The smallest version whose level M data capacity holds `byteCount` bytes in byte mode, or nil.
    static func smallestVersion(byteCount: Int) -> Int? {
        (1...maxVersion).first { version in
            let neededBits = 4 + characterCountBits(version: version) + 8 * byteCount
            let countFits = byteCount < (1 << characterCountBits(version: version))
            return countFits && neededBits <= layout(version: version).dataCodewords * 8
        }
    }

    /// The data codewords: mode indicator, character count, the bytes, terminator, bit padding and pad bytes.
    static func dataCodewords(bytes: [UInt8], version: Int, capacity: Int) -> [UInt8] {
        var bits: [Bool] = []
        bits.reserveCapacity(capacity * 8)
        func append(_ value: Int, count: Int) {
            for shift in stride(from: count - 1, through: 0, by: -1) {
                bits.append((value >> shift) & 1 == 1)
            }
        }
        append(0b0100, count: 4)
        append(bytes.count, count: characterCountBits(version: version))
        for byte in bytes {
            append(Int(byte), count: 8)
        }
        append(0, count: min(4, capacity * 8 - bits.count))
        append(0, count: (8 - bits.count % 8) % 8)

        var codewords: [UInt8] = []
        codewords.reserveCapacity(capacity)
        for start in stride(from: 0, to: bits.count, by: 8) {
            var byte: UInt8 = 0
            for bit in bits[start..<start + 8] {
                byte = (byte << 1) | (bit ? 1 : 0)
            }
            codewords.append(byte)
        }
        var padIndex = 0
        while codewords.count < capacity {
            codewords.append(padIndex % 2 == 0 ? 0xEC : 0x11)
            padIndex += 1
        }
        return codewords
    }

    /// Splits the data into blocks, computes each block's error correction, and interleaves both parts.
    static func interleave(data: [UInt8], layout: BlockLayout) -> [UInt8] {
        var blocks: [[UInt8]] = []
        var offset = 0
        for length in layout.blockDataLengths {
            blocks.append(Array(data[offset..<offset + length]))
            offset += length
        }
        let corrections = blocks.map { ReedSolomon.errorCorrection(for: $0, degree: layout.ecCodewordsPerBlock) }

        var result: [UInt8] = []
        result.reserveCapacity(layout.totalCodewords)
        for index in 0..<layout.group2DataCodewords {
            for block in blocks where index < block.count {
                result.append(block[index])
            }
        }
        for index in 0..<layout.ecCodewordsPerBlock {
            for correction in corrections {
                result.append(correction[index])
            }
        }
        return result
    }
}

// MARK: - Module grid

extension QRCode {
    /// A symbol under construction: module colours plus which modules belong to function patterns.
    struct Grid: Sendable {
        let version: Int
        let size: Int
        var dark: [Bool]
        var isFunction: [Bool]

        init(version: Int) {
            self.version = version
            self.size = 17 + 4 * version
            self.dark = Array(repeating: false, count: size * size)
            self.isFunction = Array(repeating: false, count: size * size)
        }

        func isDark(x: Int, y: Int) -> Bool {
            dark[y * size + x]
        }

        mutating func setFunction(x: Int, y: Int, dark value: Bool) {
            dark[y * size + x] = value
            isFunction[y * size + x] = true
        }

        /// Draws timing, finder, separator and alignment patterns and reserves the format and version areas.
        mutating func drawFunctionPatterns() {
            for index in 0..<size {
                setFunction(x: 6, y: index, dark: index % 2 == 0)
                setFunction(x: index, y: 6, dark: index % 2 == 0)
            }
            // Finder patterns with their separators: a 9×9 square around each centre, clipped to the symbol.
            for (centreX, centreY) in [(3, 3), (size - 4, 3), (3, size - 4)] {
                for dy in -4...4 {
                    for dx in -4...4 {
                        let x = centreX + dx
                        let y = centreY + dy
                        guard x >= 0, y >= 0, x < size, y < size else {
                            continue
                        }
                        let ring = max(abs(dx), abs(dy))
                        setFunction(x: x, y: y, dark: ring != 2 && ring != 4)
                    }
                }
            }
            let centres = QRCode.alignmentCentres[version - 1]
            for centreY in centres {
                for centreX in centres {
                    let first = centres.first ?? 0
                    let last = centres.last ?? 0
                    let overlapsFinder =
                        (centreX == first && centreY == first)
                        || (centreX == first && centreY == last)
                        || (centreX == last && centreY == first)
                    if overlapsFinder {
                        continue
                    }
                    for dy in -2...2 {
                        for dx in -2...2 {
                            setFunction(x: centreX + dx, y: centreY + dy, dark: max(abs(dx), abs(dy)) != 1)
                        }
                    }
                }
            }
            drawFormatInformation(mask: 0)
            drawVersionInformation()
        }

        /// Writes both copies of the format information for `mask`, and the dark module.
        mutating func drawFormatInformation(mask: Int) {
            let bits = QRCode.formatBits(mask: mask)
            func bit(_ index: Int) -> Bool {
                (bits >> index) & 1 == 1
            }
            // Copy around the top-left finder: bits 0–7 down column 8, bits 8–14 leftwards along row 8.
            for index in 0..<6 {
                setFunction(x: 8, y: index, dark: bit(index))
            }
            setFunction(x: 8, y: 7, dark: bit(6))
            setFunction(x: 8, y: 8, dark: bit(7))
            setFunction(x: 7, y: 8, dark: bit(8))
            for index in 9..<15 {
                setFunction(x: 14 - index, y: 8, dark: bit(index))
            }
            // Second copy: bits 0–7 along row 8 from the right edge, bits 8–14 down column 8 near the bottom.
            for index in 0..<8 {
                setFunction(x: size - 1 - index, y: 8, dark: bit(index))
            }
            for index in 8..<15 {
                setFunction(x: 8, y: size - 15 + index, dark: bit(index))
            }
            setFunction(x: 8, y: size - 8, dark: true)
        }

        /// Writes both 6×3 version information blocks (versions 7 and above only).
        mutating func drawVersionInformation() {
            guard version >= 7 else {
                return
            }
            let bits = QRCode.versionBits(version: version)
            for index in 0..<18 {
                let value = (bits >> index) & 1 == 1
                let near = index / 3
                let far = size - 11 + index % 3
                setFunction(x: far, y: near, dark: value)
                setFunction(x: near, y: far, dark: value)
            }
        }

        /// Places the codeword bits in the zigzag order: two-column strips from the right, alternately upwards and
        /// downwards, skipping the vertical timing column and all function modules. Leftover modules stay light.
        mutating func placeCodewords(_ codewords: [UInt8]) {
            let totalBits = codewords.count * 8
            var bitIndex = 0
            var right = size - 1
            var upward = true
            while right >= 1 {
                if right == 6 {
                    right = 5
                }
                for step in 0..<size {
                    let y = upward ? size - 1 - step : step
                    for x in [right, right - 1] where !isFunction[y * size + x] {
                        if bitIndex < totalBits {
                            dark[y * size + x] = (codewords[bitIndex >> 3] >> (7 - (bitIndex & 7))) & 1 == 1
                            bitIndex += 1
                        }
                    }
                }
                upward.toggle()
                right -= 2
            }
        }

        /// Whether mask pattern `mask` inverts the module at column `x`, row `y`.
        static func maskInverts(_ mask: Int, x: Int, y: Int) -> Bool {
            switch mask {
            case 0: return (y + x) % 2 == 0
            case 1: return y % 2 == 0
            case 2: return x % 3 == 0
            case 3: return (y + x) % 3 == 0
            case 4: return (y / 2 + x / 3) % 2 == 0
            case 5: return (y * x) % 2 + (y * x) % 3 == 0
            case 6: return ((y * x) % 2 + (y * x) % 3) % 2 == 0
            default: return ((y + x) % 2 + (y * x) % 3) % 2 == 0
            }
        }

        /// Inverts the data modules selected by the mask pattern; function modules are left alone.
        mutating func applyMask(_ mask: Int) {
            for y in 0..<size {
                for x in 0..<size where !isFunction[y * size + x] && Grid.maskInverts(mask, x: x, y: y) {
                    dark[y * size + x].toggle()
                }
            }
        }
    }
}
