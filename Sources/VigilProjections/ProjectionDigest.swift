import Crypto
public import VigilModel

/// An order-independent digest of a projection's whole state, kept up to date view by view.
///
/// The digest is the sum, modulo 2^256, of SHA-256(projection || 0 || key || 0 || document) over every view.
/// Changing one view subtracts its old hash and adds its new one, so the digest at a checkpoint costs no more
/// than the views that changed, and a rebuild that ends in the same state ends in the same digest.
public struct ProjectionDigest: Sendable, Equatable, CustomStringConvertible {
    /// Little-endian 64-bit limbs.
    private var limbs: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    public init() {}

    public init?(hex: String) {
        guard let bytes = Hex.decode(hex), bytes.count == 32 else { return nil }
        limbs = Self.limbs(of: bytes)
    }

    public static func == (lhs: ProjectionDigest, rhs: ProjectionDigest) -> Bool {
        lhs.limbs == rhs.limbs
    }

    /// The hash one view contributes.
    public static func hash(projection: String, key: String, document: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: Array(projection.utf8) + [0] + Array(key.utf8) + [0])
        hasher.update(data: document)
        return Array(hasher.finalize())
    }

    public mutating func add(_ hash: [UInt8]) {
        let other = Self.limbs(of: hash)
        var carry: UInt64 = 0
        (limbs.0, carry) = Self.add(limbs.0, other.0, carry)
        (limbs.1, carry) = Self.add(limbs.1, other.1, carry)
        (limbs.2, carry) = Self.add(limbs.2, other.2, carry)
        (limbs.3, _) = Self.add(limbs.3, other.3, carry)
    }

    public mutating func subtract(_ hash: [UInt8]) {
        let other = Self.limbs(of: hash)
        var borrow: UInt64 = 0
        (limbs.0, borrow) = Self.subtract(limbs.0, other.0, borrow)
        (limbs.1, borrow) = Self.subtract(limbs.1, other.1, borrow)
        (limbs.2, borrow) = Self.subtract(limbs.2, other.2, borrow)
        (limbs.3, _) = Self.subtract(limbs.3, other.3, borrow)
    }

    public var hex: String {
        var bytes: [UInt8] = []
        for limb in [limbs.3, limbs.2, limbs.1, limbs.0] {
            for shift in stride(from: 56, through: 0, by: -8) {
                bytes.append(UInt8(truncatingIfNeeded: limb >> UInt64(shift)))
            }
        }
        return Hex.encode(bytes)
    }

    public var description: String { hex }

    private static func limbs(of bytes: [UInt8]) -> (UInt64, UInt64, UInt64, UInt64) {
        func limb(_ index: Int) -> UInt64 {
            var value: UInt64 = 0
            for byte in bytes[(24 - index * 8)..<(32 - index * 8)] { value = value << 8 | UInt64(byte) }
            return value
        }
        return (limb(0), limb(1), limb(2), limb(3))
    }

    private static func add(_ a: UInt64, _ b: UInt64, _ carry: UInt64) -> (UInt64, UInt64) {
        let (sum1, overflow1) = a.addingReportingOverflow(b)
        let (sum2, overflow2) = sum1.addingReportingOverflow(carry)
        return (sum2, (overflow1 ? 1 : 0) + (overflow2 ? 1 : 0))
    }

    private static func subtract(_ a: UInt64, _ b: UInt64, _ borrow: UInt64) -> (UInt64, UInt64) {
        let (difference1, overflow1) = a.subtractingReportingOverflow(b)
        let (difference2, overflow2) = difference1.subtractingReportingOverflow(borrow)
        return (difference2, (overflow1 ? 1 : 0) + (overflow2 ? 1 : 0))
    }
}

/// The digests of every projection, with the hash each view currently contributes.
public struct ProjectionDigests: Sendable {
    public private(set) var digests: [ProjectionState.Projection: ProjectionDigest] = [:]
    private var contributions: [ProjectionState.Projection: [String: [UInt8]]] = [:]

    public init() {}

    /// Records a view's new document (nil: the view is gone); returns the bytes to store.
    @discardableResult
    public mutating func update(_ projection: ProjectionState.Projection, key: String, document: JSONValue?) -> [UInt8]?
    {
        var digest = digests[projection] ?? ProjectionDigest()
        if let old = contributions[projection]?[key] { digest.subtract(old) }
        var bytes: [UInt8]?
        if let document {
            let encoded = JSONWriter.bytes(document)
            let hash = ProjectionDigest.hash(projection: projection.rawValue, key: key, document: encoded)
            digest.add(hash)
            contributions[projection, default: [:]][key] = hash
            bytes = encoded
        } else {
            contributions[projection]?[key] = nil
        }
        digests[projection] = digest
        return bytes
    }

    /// The digests of a whole state, computed from scratch.
    public static func of(_ state: ProjectionState) -> ProjectionDigests {
        var digests = ProjectionDigests()
        for projection in ProjectionState.Projection.allCases {
            digests.digests[projection] = ProjectionDigest()
            for key in state.keys(projection) {
                digests.update(projection, key: key, document: state.document(projection, key: key))
            }
        }
        return digests
    }

    public func digest(_ projection: ProjectionState.Projection) -> ProjectionDigest {
        digests[projection] ?? ProjectionDigest()
    }
}
