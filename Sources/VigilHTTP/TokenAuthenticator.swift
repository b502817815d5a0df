import Crypto
package import Hummingbird
package import VigilConfig
package import VigilModel

/// What a route needs its caller's token to allow.
package enum Permission: Sendable, CaseIterable {
    /// Health and metrics: every role.
    case operations
    /// The log (whole envelopes, clinical content included), its head and proofs: auditors and officers.
    case log
    /// The lots, losses and the controlled-substance ledger: the pharmacy, auditors and officers.
    case inventory
    /// Which rules a dose would trip, before it is dispensed: the pharmacy and officers.
    case doseCheck
    /// Participants, sessions, adverse events and alerts: officers.
    case safety

    /// The roles that hold this permission.
    package var roles: Set<ReaderRole> {
        switch self {
        case .operations: Set(ReaderRole.allCases)
        case .log: [.auditor, .officer]
        case .inventory: [.pharmacy, .auditor, .officer]
        case .doseCheck: [.pharmacy, .officer]
        case .safety: [.officer]
        }
    }

    package func allows(_ role: ReaderRole) -> Bool { roles.contains(role) }
}

/// Checks `Authorization: Bearer <token>` against the configured SHA-256 digests.
package struct TokenAuthenticator: Sendable {
    /// The configured grants; a configuration reload may replace them.
    package let grants: Reloadable<[TokenGrant]>

    package init(grants: Reloadable<[TokenGrant]>) {
        self.grants = grants
    }

    package init(grants: [TokenGrant]) {
        self.init(grants: Reloadable(grants))
    }

    /// The caller's role, if the token is known and its role holds `permission`.
    ///
    /// - Throws: 401 `unauthorized` without a known token, 403 `forbidden` when the role is not enough.
    @discardableResult
    package func authorize(_ request: Request, for permission: Permission) throws(APIError) -> ReaderRole {
        guard let header = request.headers[.authorization] else {
            throw APIError.unauthorized("this endpoint needs an Authorization: Bearer token")
        }
        let prefix = "bearer "
        guard header.count > prefix.count, header.prefix(prefix.count).lowercased() == prefix else {
            throw APIError.unauthorized("the Authorization header must be 'Bearer <token>'")
        }
        let token = header.dropFirst(prefix.count).trimmingPrefix(while: \.isWhitespace)
        guard let role = grant(for: token)?.role else { throw APIError.unauthorized("the token is not known") }
        guard permission.allows(role) else {
            throw APIError(.forbidden, code: "forbidden", "a token with the \(role.rawValue) role may not read this")
        }
        return role
    }

    /// The configured grant of a plain token, if any. Every grant is compared in constant time, so timing does
    /// not reveal a prefix.
    package func grant(for token: some StringProtocol) -> TokenGrant? {
        let digest = Array(SHA256.hash(data: Array(token.utf8)))
        var found: TokenGrant?
        for grant in grants.value where Self.constantTimeEqual(grant.sha256, digest) {
            found = grant
        }
        return found
    }

    /// Whether a grant is still configured (a configuration reload may have removed it or changed its role).
    package func isConfigured(_ grant: TokenGrant) -> Bool {
        grants.value.contains { Self.constantTimeEqual($0.sha256, grant.sha256) && $0.role == grant.role }
    }

    static func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for index in lhs.indices { difference |= lhs[index] ^ rhs[index] }
        return difference == 0
    }
}
