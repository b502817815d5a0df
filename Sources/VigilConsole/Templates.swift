import Mustache

/// The console's Mustache templates, compiled into the binary from `Assets/*.mustache`.
///
/// `{{name}}` escapes HTML (`<`, `>`, `&`, `"`, `'`), and every value of a record goes through it. Only the page's
/// content (already rendered by a template) and the server-drawn chart (numbers and fixed words, escaped
/// themselves) are inserted raw, with `{{{ }}}`.
struct Templates: Sendable {
    let library: MustacheLibrary

    init() throws {
        var library = MustacheLibrary()
        for (name, text) in EmbeddedAssets.files where name.hasSuffix(".mustache") {
            try library.register(text, named: String(name.dropLast(".mustache".count)))
        }
        self.library = library
    }

    func render(_ model: Any, template: String) -> String {
        guard let html = library.render(model, withTemplate: template) else {
            preconditionFailure("the console has no template named \(template)")
        }
        return html
    }
}
