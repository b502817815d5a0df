/// A UUID identifying an event (or an alert, or an adverse event), kept as its 16 bytes.
///
/// Any version is accepted; time-ordered UUIDv7 ids are recommended because they keep the store's
/// unique index append-mostly. Parsing accepts the canonical 8-4-4-4-12 form in either case; printing
/// is lowercase.
package struct EventID: Sendable, Hashable, Comparable, CustomStringConvertible {
    package var high: UInt64
    package var low: UInt64

    package init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    package init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 16 else { return nil }
        let loaded: EventID? = bytes.withContiguousStorageIfAvailable { EventID(buffer: UnsafeRawBufferPointer($0)) }
        self = loaded ?? Array(bytes).withUnsafeBytes { EventID(buffer: $0) }
    }

    /// From exactly 16 bytes, big-endian halves.
    init(buffer: UnsafeRawBufferPointer) {
        self.init(
            high: UInt64(bigEndian: buffer.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
            low: UInt64(bigEndian: buffer.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        )
    }

    package init?(_ text: String) {
        var text = text
        guard let parsed = text.withUTF8({ EventID(uuid: $0) }) else { return nil }
        self = parsed
    }

    private init?(uuid utf8: UnsafeBufferPointer<UInt8>) {
        guard utf8.count == 36 else { return nil }
        var high: UInt64 = 0
        var low: UInt64 = 0
        var nibbles = 0
        for (offset, byte) in utf8.enumerated() {
            if offset == 8 || offset == 13 || offset == 18 || offset == 23 {
                guard byte == UInt8(ascii: "-") else { return nil }
                continue
            }
            guard let nibble = hexValue(byte) else { return nil }
            if nibbles < 16 { high = high << 4 | UInt64(nibble) } else { low = low << 4 | UInt64(nibble) }
            nibbles += 1
        }
        self.init(high: high, low: low)
    }

    /// A new time-ordered UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then random bits.
    package static func v7(at time: Timestamp) -> EventID {
        var generator = SystemRandomNumberGenerator()
        let millis = UInt64(max(0, time.microsecondsSinceEpoch / 1000)) & 0xFFFF_FFFF_FFFF
        let randA = generator.next() & 0xFFF
        let high = millis << 16 | 0x7000 | randA
        let low = (generator.next() & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000
        return EventID(high: high, low: low)
    }

    package var bytes: [UInt8] {
        var out = [UInt8](repeating: 0, count: 16)
        for i in 0..<8 {
            out[i] = UInt8(truncatingIfNeeded: high >> (56 - 8 * UInt64(i)))
            out[8 + i] = UInt8(truncatingIfNeeded: low >> (56 - 8 * UInt64(i)))
        }
        return out
    }

    /// The canonical 8-4-4-4-12 form, lowercase.
    package var description: String {
        String(unsafeUninitializedCapacity: 36) { buffer in
            let digits: StaticString = "0123456789abcdef"
            var out = 0
            for nibble in 0..<32 {
                if nibble == 8 || nibble == 12 || nibble == 16 || nibble == 20 {
                    buffer[out] = UInt8(ascii: "-")
                    out += 1
                }
                let half = nibble < 16 ? high : low
                let shift = UInt64(60 - 4 * (nibble % 16))
                buffer[out] = digits.utf8Start[Int((half >> shift) & 0xF)]
                out += 1
            }
            return out
        }
    }

    package static func < (lhs: EventID, rhs: EventID) -> Bool {
        (lhs.high, lhs.low) < (rhs.high, rhs.low)
    }
}

@inline(__always)
func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case 0x30...0x39: byte - 0x30
    case 0x41...0x46: byte - 0x41 + 10
    case 0x61...0x66: byte - 0x61 + 10
    default: nil
    }
}

/// Lowercase hexadecimal encoding and strict decoding.
package enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    package static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes lowercase or uppercase hex; nil for odd lengths or other characters.
    package static func decode(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(utf8.count / 2)
        var index = 0
        while index < utf8.count {
            guard let high = hexValue(utf8[index]), let low = hexValue(utf8[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }
}
