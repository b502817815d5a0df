/// Standard base64 (RFC 4648 section 4) with padding, decoded strictly.
///
/// Decoding refuses whitespace, missing or misplaced padding, and non-canonical encodings (bits set after
/// the last full byte), so each byte string has exactly one accepted text form.
package enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    private static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        return table
    }()

    package static func encode(_ bytes: some Collection<UInt8>) -> String {
        String(decoding: encodeBytes(bytes), as: UTF8.self)
    }

    package static func encodeBytes(_ bytes: some Collection<UInt8>) -> [UInt8] {
        let input = Array(bytes)
        var out = [UInt8]()
        out.reserveCapacity((input.count + 2) / 3 * 4)
        var index = 0
        while index + 3 <= input.count {
            let chunk = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8 | UInt32(input[index + 2])
            out.append(alphabet[Int(chunk >> 18 & 63)])
            out.append(alphabet[Int(chunk >> 12 & 63)])
            out.append(alphabet[Int(chunk >> 6 & 63)])
            out.append(alphabet[Int(chunk & 63)])
            index += 3
        }
        let remaining = input.count - index
        if remaining == 1 {
            let chunk = UInt32(input[index]) << 16
            out.append(alphabet[Int(chunk >> 18 & 63)])
            out.append(alphabet[Int(chunk >> 12 & 63)])
            out.append(contentsOf: [UInt8(ascii: "="), UInt8(ascii: "=")])
        } else if remaining == 2 {
            let chunk = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8
            out.append(alphabet[Int(chunk >> 18 & 63)])
            out.append(alphabet[Int(chunk >> 12 & 63)])
            out.append(alphabet[Int(chunk >> 6 & 63)])
            out.append(UInt8(ascii: "="))
        }
        return out
    }

    package static func decode(_ text: String) -> [UInt8]? {
        var text = text
        return text.withUTF8 { decode(utf8: $0) }
    }

    package static func decode(utf8 input: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard input.count % 4 == 0 else { return nil }
        if input.isEmpty { return [] }
        var padding = 0
        if input[input.count - 1] == UInt8(ascii: "=") { padding += 1 }
        if input[input.count - 2] == UInt8(ascii: "=") { padding += 1 }
        if padding == 1 && input[input.count - 2] == UInt8(ascii: "=") { return nil }
        let fullEnd = input.count - (padding > 0 ? 4 : 0)
        var index = 0
        var complete = true
        var out = [UInt8](unsafeUninitializedCapacity: input.count / 4 * 3) { buffer, written in
            decodeTable.withUnsafeBufferPointer { table in
                var at = 0
                while index < fullEnd {
                    let a = table[Int(input[index])]
                    let b = table[Int(input[index + 1])]
                    let c = table[Int(input[index + 2])]
                    let d = table[Int(input[index + 3])]
                    guard (a | b | c | d) & 0xC0 == 0 else {
                        complete = false
                        break
                    }
                    let chunk = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
                    buffer[at] = UInt8(truncatingIfNeeded: chunk >> 16)
                    buffer[at + 1] = UInt8(truncatingIfNeeded: chunk >> 8)
                    buffer[at + 2] = UInt8(truncatingIfNeeded: chunk)
                    at += 3
                    index += 4
                }
                written = at
            }
        }
        guard complete else { return nil }
        if padding > 0 {
            let a = decodeTable[Int(input[index])]
            let b = decodeTable[Int(input[index + 1])]
            guard (a | b) & 0xC0 == 0 else { return nil }
            if padding == 2 {
                guard b & 0x0F == 0 else { return nil }
                out.append(a << 2 | b >> 4)
            } else {
                let c = decodeTable[Int(input[index + 2])]
                guard c & 0xC0 == 0, c & 0x03 == 0 else { return nil }
                out.append(a << 2 | b >> 4)
                out.append((b & 0x0F) << 4 | c >> 2)
            }
        }
        return out
    }
}
