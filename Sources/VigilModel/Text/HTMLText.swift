extension String {
    /// The text as HTML: `& < > " '` as entities, so it stays text in an element or an attribute value.
    package var htmlEscaped: String {
        // Most text has nothing to escape: one pass over the bytes, no copy.
        let special = utf8.contains { $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 || $0 == 0x27 }
        guard special else { return self }
        var out = ""
        out.reserveCapacity(utf8.count)
        for character in self {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
