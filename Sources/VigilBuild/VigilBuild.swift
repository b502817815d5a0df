/// What this build of Vigil is: its release version and the git commit it was built from.
///
/// `vigild --version` and `vigilctl --version` print them, `/healthz` and the `vigil_build_info` metric carry
/// them, and the Debian package takes its version from them. The commit is recorded at build time
/// (`Plugins/BuildCommit`).
package enum VigilBuild {
    /// The release version (semantic versioning). Raised with each release; docs/operations.md says how
    /// stores and read models move between releases.
    package static let version = "0.10.0"

    /// `vigild 0.10.0 (1a2b3c4d5e6f)`: what `--version` prints for `program`.
    package static func versionLine(_ program: String) -> String {
        "\(program) \(version) (\(commit))"
    }
}
