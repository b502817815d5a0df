// Key events: who may sign, registered and revoked in the log itself.

package struct KeyRegistered: EventBody {
    package static let eventType = EventType.keyRegistered
    package enum Field: String, DeclaredFields {
        case publicKey, name, role
    }
    /// The raw 32-byte Ed25519 public key.
    package var publicKey: [UInt8]
    /// The holder's printed name, shown with every signature the key makes (Part 11, 11.50).
    package var name: String
    package var role: Role

    package init(publicKey: [UInt8], name: String, role: Role) {
        self.publicKey = publicKey
        self.name = name
        self.role = role
    }

    package var keyID: KeyID { KeyID(publicKey: publicKey) }

    package init(reading data: FieldReader<Field>, context: ValidationContext) throws(FieldError) {
        let encoded = try data.string(.publicKey, maxLength: 100)
        guard let key = Base64.decode(encoded), key.count == 32 else {
            throw FieldError(
                path: data.fieldPath(.publicKey),
                reason: "must be the standard base64 of a raw 32-byte Ed25519 public key")
        }
        publicKey = key
        name = try data.string(.name)
        let role: Role = try data.enumeration(.role)
        guard Role.registrable.contains(role) else {
            let choices = Role.registrable.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
            throw FieldError(path: data.fieldPath(.role), reason: "must be one of \(choices)")
        }
        self.role = role
    }

    package var json: JSONObject {
        FieldWriter<Field>([
            .publicKey: .string(Base64.encode(publicKey)), .name: .string(name), .role: .string(role.rawValue),
        ]).object
    }
}

package struct KeyRevoked: EventBody {
    package static let eventType = EventType.keyRevoked
    package enum Field: String, DeclaredFields {
        case keyid, reason
    }
    package var keyID: KeyID
    package var reason: String

    package init(keyID: KeyID, reason: String) {
        self.keyID = keyID
        self.reason = reason
    }

    package init(reading data: FieldReader<Field>, context: ValidationContext) throws(FieldError) {
        let text = try data.string(.keyid, maxLength: 64)
        guard let keyID = KeyID(hex: text) else {
            throw FieldError(path: data.fieldPath(.keyid), reason: "must be a key id: 64 lowercase hexadecimal digits")
        }
        self.keyID = keyID
        reason = try data.string(.reason, maxLength: 1000)
    }

    package var json: JSONObject {
        FieldWriter<Field>([.keyid: .string(keyID.hex), .reason: .string(reason)]).object
    }
}
