import Foundation
import Mustache
import VigilModel

/// The console's Mustache templates, compiled into the binary from `Assets/*.mustache`.
///
/// `{{name}}` escapes HTML (`<`, `>`, `&`, `"`, `'`), and every value of a record goes through it. Only the page's
/// content (already rendered by a template) and the server-drawn charts (numbers and fixed words, escaped
/// themselves) are inserted raw, with `{{{ }}}`.
struct Templates: Sendable {
    let library: MustacheLibrary

    init() throws {
        MustacheContentTypes.register(EscapedHTML(), named: EscapedHTML.name)
        var library = MustacheLibrary()
        for (name, text) in EmbeddedAssets.files where name.hasSuffix(".mustache") {
            try library.register(
                "{{% CONTENT_TYPE: \(EscapedHTML.name)}}" + text, named: String(name.dropLast(".mustache".count)))
        }
        self.library = library
    }

    /// HTML escaping of the same five characters as the engine's own, a byte scan first: most values have
    /// nothing to escape, and the engine's per-character table lookup was a large part of a page's cost.
    struct EscapedHTML: MustacheContentType {
        static let name = "VIGILHTML"

        func escapeText(_ text: String) -> String { text.htmlEscaped }
    }

    func render(_ model: Any, template: String) -> String {
        guard let html = library.render(Self.context(model), withTemplate: template) else {
            preconditionFailure("the console has no template named \(template)")
        }
        return html
    }

    /// A page's model as the template engine reads it fastest: every struct as a dictionary of its properties,
    /// made with one reflection per value. Left as structs, each `{{name}}` would reflect over all of a row's
    /// properties again (200 alert rows cost 70 ms that way). An absent optional becomes `NSNull`, which renders
    /// as nothing and, unlike a missing key, does not let a name be looked up in the enclosing context.
    static func context(_ value: Any) -> Any {
        switch value {
        case is String, is Bool, is Int, is Int64, is Double, is any MustacheParent: return value
        default: break
        }
        let mirror = Mirror(reflecting: value)
        switch mirror.displayStyle {
        case .optional:
            guard let wrapped = mirror.children.first?.value else { return NSNull() }
            return context(wrapped)
        case .collection, .set:
            return mirror.children.map { context($0.value) }
        case .struct, .class:
            var properties: [String: Any] = [:]
            for child in mirror.children {
                if let label = child.label { properties[label] = context(child.value) }
            }
            return properties
        default:
            return value
        }
    }
}

// The rows a page repeats by the hundred are read by name directly, without reflection.

extension AlertRow: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "id": id
        case "shortID": shortID
        case "rule": rule
        case "ruleLabel": ruleLabel
        case "severity": severity
        case "severityLabel": severityLabel
        case "participant": participant ?? NSNull()
        case "participantHref": participantHref ?? NSNull()
        case "session": session ?? NSNull()
        case "sessionHref": sessionHref ?? NSNull()
        case "status": status
        case "raised": raised
        case "age": age
        case "message": message
        case "href": href
        default: nil
        }
    }
}

extension Console.EventRow: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "id": id
        case "position": position
        case "type": type
        case "occurred": occurred
        case "participant": participant ?? NSNull()
        case "session": session ?? NSNull()
        case "sessionHref": sessionHref ?? NSNull()
        case "details": details
        case "signers": signers
        case "found": found
        default: nil
        }
    }
}

extension Console.EventRow.Detail: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "name": self.name
        case "value": value
        default: nil
        }
    }
}

extension Console.EventRow.Signer: MustacheParent {
    func child(named name: String) -> Any? {
        switch name {
        case "name": self.name
        case "role": role
        case "keyid": keyid
        case "part": part
        default: nil
        }
    }
}
