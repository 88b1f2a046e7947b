import Foundation

// Constant tables, arithmetic helpers and mask scoring used by the QR code encoder:
// the level M block structure, alignment pattern positions, BCH codes for
// format and version information, Reed–Solomon error correction, and the mask penalty rules.

extension QRCode {
    /// How the codewords of one version at error correction level M are split into blocks.
    struct BlockLayout: Sendable, Equatable {
        /// Error correction codewords appended to every block.
        let ecCodewordsPerBlock: Int
        /// Number of blocks in group 1.
        let group1Blocks: Int
        /// Data codewords in each group 1 block.
        let group1DataCodewords: Int
        /// Number of blocks in group 2; each holds one more data codeword than a group 1 block.
        let group2Blocks: Int

        /// Data codewords in each group 2 block.
        var group2DataCodewords: Int { group1DataCodewords + 1 }

        /// All data codewords of the symbol.
        var dataCodewords: Int {
            group1Blocks * group1DataCodewords + group2Blocks * group2DataCodewords
        }

        /// All codewords of the symbol, data and error correction together.
        var totalCodewords: Int {
            dataCodewords + (group1Blocks + group2Blocks) * ecCodewordsPerBlock
        }

        /// The data codeword count of every block, group 1 first.
        var blockDataLengths: [Int] {
            Array(repeating: group1DataCodewords, count: group1Blocks)
                + Array(repeating: group2DataCodewords, count: group2Blocks)
        }
    }

    /// The highest version this encoder produces.
    static let maxVersion = 20

    /// Level M block structure for versions 1 through 20, indexed by `version - 1`.
    static let levelMLayouts: [BlockLayout] = [
        BlockLayout(ecCodewordsPerBlock: 10, group1Blocks: 1, group1DataCodewords: 16, group2Blocks: 0),  // 1
        BlockLayout(ecCodewordsPerBlock: 16, group1Blocks: 1, group1DataCodewords: 28, group2Blocks: 0),  // 2
        BlockLayout(ecCodewordsPerBlock: 26, group1Blocks: 1, group1DataCodewords: 44, group2Blocks: 0),  // 3
        BlockLayout(ecCodewordsPerBlock: 18, group1Blocks: 2, group1DataCodewords: 32, group2Blocks: 0),  // 4
        BlockLayout(ecCodewordsPerBlock: 24, group1Blocks: 2, group1DataCodewords: 43, group2Blocks: 0),  // 5
        BlockLayout(ecCodewordsPerBlock: 16, group1Blocks: 4, group1DataCodewords: 27, group2Blocks: 0),  // 6
        BlockLayout(ecCodewordsPerBlock: 18, group1Blocks: 4, group1DataCodewords: 31, group2Blocks: 0),  // 7
        BlockLayout(ecCodewordsPerBlock: 22, group1Blocks: 2, group1DataCodewords: 38, group2Blocks: 2),  // 8
        BlockLayout(ecCodewordsPerBlock: 22, group1Blocks: 3, group1DataCodewords: 36, group2Blocks: 2),  // 9
        BlockLayout(ecCodewordsPerBlock: 26, group1Blocks: 4, group1DataCodewords: 43, group2Blocks: 1),  // 10
        BlockLayout(ecCodewordsPerBlock: 30, group1Blocks: 1, group1DataCodewords: 50, group2Blocks: 4),  // 11
        BlockLayout(ecCodewordsPerBlock: 22, group1Blocks: 6, group1DataCodewords: 36, group2Blocks: 2),  // 12
        BlockLayout(ecCodewordsPerBlock: 22, group1Blocks: 8, group1DataCodewords: 37, group2Blocks: 1),  // 13
        BlockLayout(ecCodewordsPerBlock: 24, group1Blocks: 4, group1DataCodewords: 40, group2Blocks: 5),  // 14
        BlockLayout(ecCodewordsPerBlock: 24, group1Blocks: 5, group1DataCodewords: 41, group2Blocks: 5),  // 15
        BlockLayout(ecCodewordsPerBlock: 28, group1Blocks: 7, group1DataCodewords: 45, group2Blocks: 3),  // 16
        BlockLayout(ecCodewordsPerBlock: 28, group1Blocks: 10, group1DataCodewords: 46, group2Blocks: 1),  // 17
        BlockLayout(ecCodewordsPerBlock: 26, group1Blocks: 9, group1DataCodewords: 43, group2Blocks: 4),  // 18
        BlockLayout(ecCodewordsPerBlock: 26, group1Blocks: 3, group1DataCodewords: 44, group2Blocks: 11),  // 19
        BlockLayout(ecCodewordsPerBlock: 26, group1Blocks: 3, group1DataCodewords: 41, group2Blocks: 13),  // 20
    ]

    /// Centre coordinates of the alignment patterns (used for both rows and columns), indexed by `version - 1`.
    static let alignmentCentres: [[Int]] = [
        [], [6, 18], [6, 22], [6, 26], [6, 30], [6, 34],
        [6, 22, 38], [6, 24, 42], [6, 26, 46], [6, 28, 50], [6, 30, 54], [6, 32, 58], [6, 34, 62],
        [6, 26, 46, 66], [6, 26, 48, 70], [6, 26, 50, 74], [6, 30, 54, 78], [6, 30, 56, 82], [6, 30, 58, 86],
        [6, 34, 62, 90],
    ]

    /// The block layout of a version at level M.
    static func layout(version: Int) -> BlockLayout {
        levelMLayouts[version - 1]
    }

    /// Length in bits of the byte mode character count indicator.
    static func characterCountBits(version: Int) -> Int {
        version <= 9 ? 8 : 16
    }

    /// Appends the remainder of a BCH code to `value`: `value` is shifted left by the generator's degree and the
    /// remainder of its division by `generator` (a polynomial over GF(2), one bit per coefficient) fills the low bits.
    static func bchCode(_ value: Int, valueBits: Int, generator: Int, degree: Int) -> Int {
        let shifted = value << degree
        var remainder = shifted
        for bit in stride(from: valueBits + degree - 1, through: degree, by: -1) where remainder & (1 << bit) != 0 {
            remainder ^= generator << (bit - degree)
        }
        return shifted | remainder
    }

    /// The 15 format information bits for level M and a mask, already XORed with the fixed mask 0x5412.
    static func formatBits(mask: Int) -> Int {
        let levelM = 0b00
        return bchCode((levelM << 3) | mask, valueBits: 5, generator: 0x537, degree: 10) ^ 0x5412
    }

    /// The 18 version information bits (six version bits followed by a 12-bit BCH remainder).
    static func versionBits(version: Int) -> Int {
        bchCode(version, valueBits: 6, generator: 0x1F25, degree: 12)
    }
}

/// Reed–Solomon error correction over GF(256) with the primitive polynomial x⁸ + x⁴ + x³ + x² + 1 (0x11D).
enum ReedSolomon {
    /// Powers of the generator element α = 2, repeated twice so that sums of two logarithms index directly.
    static let exponents: [UInt8] = {
        var table = [UInt8](repeating: 0, count: 512)
        var value = 1
        for power in 0..<255 {
            table[power] = UInt8(value)
            table[power + 255] = UInt8(value)
            value <<= 1
            if value & 0x100 != 0 {
                value ^= 0x11D
            }
        }
        return table
    }()

    /// Discrete logarithms base α; the entry for zero is unused.
    static let logarithms: [Int] = {
        var table = [Int](repeating: 0, count: 256)
        for power in 0..<255 {
            table[Int(exponents[power])] = power
        }
        return table
    }()

    /// Multiplies two field elements.
    static func multiply(_ lhs: UInt8, _ rhs: UInt8) -> UInt8 {
        if lhs == 0 || rhs == 0 {
            return 0
        }
        return exponents[logarithms[Int(lhs)] + logarithms[Int(rhs)]]
    }

    /// The generator polynomial (x − α⁰)(x − α¹)…(x − α^(degree−1)), coefficients from the highest power down,
    /// including the leading 1.
    static func generatorPolynomial(degree: Int) -> [UInt8] {
        var coefficients: [UInt8] = [1]
        for power in 0..<degree {
            let root = exponents[power]
            var next = coefficients + [0]
            for (index, coefficient) in coefficients.enumerated() {
                next[index + 1] ^= multiply(coefficient, root)
            }
            coefficients = next
        }
        return coefficients
    }

    /// The `degree` error correction codewords for `data`: the remainder of data(x)·x^degree divided by the generator.
    static func errorCorrection(for data: [UInt8], degree: Int) -> [UInt8] {
        let generator = generatorPolynomial(degree: degree)
        var remainder = [UInt8](repeating: 0, count: degree)
        for byte in data {
            let factor = byte ^ remainder[0]
            remainder.removeFirst()
            remainder.append(0)
            for index in 0..<degree {
                remainder[index] ^= multiply(generator[index + 1], factor)
            }
        }
        return remainder
    }
}

// MARK: - Mask penalty

extension QRCode.Grid {
    /// The penalty of the finished symbol under the four rules of ISO/IEC 18004; the mask with the lowest one wins.
    func penalty() -> Int {
        var total = 0
        // Rules 1 and 3 inspect every row and every column as a line of modules.
        for line in 0..<size {
            let row = (0..<size).map { isDark(x: $0, y: line) }
            let column = (0..<size).map { isDark(x: line, y: $0) }
            total += Self.runPenalty(row) + Self.finderLikePenalty(row)
            total += Self.runPenalty(column) + Self.finderLikePenalty(column)
        }
        // Rule 2: 3 points for every 2×2 block of one colour (overlapping blocks count separately).
        for y in 0..<(size - 1) {
            for x in 0..<(size - 1) {
                let colour = isDark(x: x, y: y)
                if isDark(x: x + 1, y: y) == colour && isDark(x: x, y: y + 1) == colour && isDark(x: x + 1, y: y + 1) == colour {
                    total += 3
                }
            }
        }
        // Rule 4: 10 points for every full 5% step that the share of dark modules lies away from 50%.
        let darkCount = dark.reduce(0) { $0 + ($1 ? 1 : 0) }
        let cells = size * size
        total += 10 * (abs(darkCount * 20 - cells * 10) / cells)
        return total
    }

    /// Rule 1: a run of five or more modules of one colour scores 3, plus 1 for each module beyond five.
    static func runPenalty(_ line: [Bool]) -> Int {
        var penalty = 0
        var runLength = 0
        var runColour = false
        for module in line {
            if runLength > 0 && module == runColour {
                runLength += 1
            } else {
                if runLength >= 5 {
                    penalty += runLength - 2
                }
                runColour = module
                runLength = 1
            }
        }
        if runLength >= 5 {
            penalty += runLength - 2
        }
        return penalty
    }

    /// A finder-like 1:1:3:1:1 sequence (dark, light, dark ×3, light, dark) followed by four light modules.
    static let finderLikePattern: [Bool] = [true, false, true, true, true, false, true, false, false, false, false]

    /// Rule 3: 40 points for each finder-like sequence with four light modules on either side, inside the symbol.
    static func finderLikePenalty(_ line: [Bool]) -> Int {
        let pattern = finderLikePattern
        let reversed = Array(pattern.reversed())
        guard line.count >= pattern.count else {
            return 0
        }
        var penalty = 0
        for start in 0...(line.count - pattern.count) {
            let window = line[start..<(start + pattern.count)]
            if window.elementsEqual(pattern) {
                penalty += 40
            }
            if window.elementsEqual(reversed) {
                penalty += 40
            }
        }
        return penalty
    }
}
