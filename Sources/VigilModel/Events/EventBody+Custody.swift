// The controlled substance: receipts, dispenses, waste, destruction, counts, losses (DEA 21 CFR 1304).

public struct InventoryReceived: EventBody {
    public static let eventType = EventType.inventoryReceived
    public static let fields: Set<String> = ["lot", "substance", "quantityMg", "supplier"]
    public var lot: String
    public var substance: String
    public var quantity: Milligrams
    public var supplier: String

    public init(lot: String, substance: String, quantity: Milligrams, supplier: String) {
        self.lot = lot
        self.substance = substance
        self.quantity = quantity
        self.supplier = supplier
    }

    public init(reading data: ObjectReader, context: ValidationContext) throws(FieldError) {
        lot = try data.code("lot")
        substance = try data.string("substance", maxLength: 100)
        quantity = try data.milligrams("quantityMg", maximum: context.limits.maxQuantity)
        supplier = try data.string("supplier")
    }

    public var json: JSONObject {
        JSONObject([
            "lot": .string(lot), "substance": .string(substance), "quantityMg": .number(quantity.jsonNumber),
            "supplier": .string(supplier),
        ])
    }
}

public struct DoseDispensed: EventBody {
    public static let eventType = EventType.doseDispensed
    public static let fields: Set<String> = ["lot", "doseMg", "kind"]
    public var lot: String
    public var dose: Milligrams
    public var kind: DoseKind

    public init(lot: String, dose: Milligrams, kind: DoseKind) {
        self.lot = lot
        self.dose = dose
        self.kind = kind
    }

    public init(reading data: ObjectReader, context: ValidationContext) throws(FieldError) {
        lot = try data.code("lot")
        dose = try data.milligrams("doseMg", maximum: context.limits.maxDose)
        kind = try data.enumeration("kind")
    }

    public var json: JSONObject {
        JSONObject(["lot": .string(lot), "doseMg": .number(dose.jsonNumber), "kind": .string(kind.rawValue)])
    }
}

public struct DoseWasted: EventBody {
    public static let eventType = EventType.doseWasted
    public static let fields: Set<String> = ["lot", "quantityMg", "reason"]
    public var lot: String
    public var quantity: Milligrams
    public var reason: String

    public init(lot: String, quantity: Milligrams, reason: String) {
        self.lot = lot
        self.quantity = quantity
        self.reason = reason
    }

    public init(reading data: ObjectReader, context: ValidationContext) throws(FieldError) {
        lot = try data.code("lot")
        quantity = try data.milligrams("quantityMg", maximum: context.limits.maxQuantity)
        reason = try data.string("reason", maxLength: 1000)
    }

    public var json: JSONObject {
        JSONObject(["lot": .string(lot), "quantityMg": .number(quantity.jsonNumber), "reason": .string(reason)])
    }
}

public struct InventoryDestroyed: EventBody {
    public static let eventType = EventType.inventoryDestroyed
    public static let fields: Set<String> = ["lot", "quantityMg", "method", "form41"]
    public var lot: String
    public var quantity: Milligrams
    public var method: String
    /// The DEA Form 41 reference.
    public var form41: String

    public init(lot: String, quantity: Milligrams, method: String, form41: String) {
        self.lot = lot
        self.quantity = quantity
        self.method = method
        self.form41 = form41
    }

    public init(reading data: ObjectReader, context: ValidationContext) throws(FieldError) {
        lot = try data.code("lot")
        quantity = try data.milligrams("quantityMg", maximum: context.limits.maxQuantity)
        method = try data.string("method")
        form41 = try data.string("form41", maxLength: 100)
    }

    public var json: JSONObject {
        JSONObject([
            "lot": .string(lot), "quantityMg": .number(quantity.jsonNumber), "method": .string(method),
            "form41": .string(form41),
        ])
    }
}

public struct InventoryCounted: EventBody {
    public static let eventType = EventType.inventoryCounted
    public static let fields: Set<String> = ["lot", "countedMg"]
    public var lot: String
    /// The physical count; zero is a valid count.
    public var counted: Milligrams

    public init(lot: String, counted: Milligrams) {
        self.lot = lot
        self.counted = counted
    }

    public init(reading data: ObjectReader, context: ValidationContext) throws(FieldError) {
        lot = try data.code("lot")
        counted = try data.milligrams("countedMg", maximum: context.limits.maxQuantity, allowZero: true)
    }

    public var json: JSONObject {
        JSONObject(["lot": .string(lot), "countedMg": .number(counted.jsonNumber)])
    }
}

public struct InventoryLossReported: EventBody {
    public static let eventType = EventType.inventoryLossReported
    public static let fields: Set<String> = ["lossId", "lot", "quantityMg", "kind", "discoveredAt"]
    /// The clinic's code for the loss, named again by `inventory.loss_report_filed`.
    public var lossId: String
    public var lot: String
    public var quantity: Milligrams
    public var kind: LossKind
    /// When the theft or loss was discovered: the DEA's one-business-day clock starts here (21 CFR 1301.76(b)).
    public var discoveredAt: Timestamp

    public init(lossId: String, lot: String, quantity: Milligrams, kind: LossKind, discoveredAt: Timestamp) {
        self.lossId = lossId
        self.lot = lot
        self.quantity = quantity
        self.kind = kind
        self.discoveredAt = discoveredAt
    }

    public init(reading data: ObjectReader, context: ValidationContext) throws(FieldError) {
        lossId = try data.code("lossId")
        lot = try data.code("lot")
        quantity = try data.milligrams("quantityMg", maximum: context.limits.maxQuantity)
        kind = try data.enumeration("kind")
        discoveredAt = try data.timestamp("discoveredAt")
        try context.checkNotInFuture(discoveredAt, path: data.fieldPath("discoveredAt"))
    }

    public var json: JSONObject {
        JSONObject([
            "lossId": .string(lossId), "lot": .string(lot), "quantityMg": .number(quantity.jsonNumber),
            "kind": .string(kind.rawValue), "discoveredAt": .string(discoveredAt.rfc3339),
        ])
    }
}

public struct InventoryLossReportFiled: EventBody {
    public static let eventType = EventType.inventoryLossReportFiled
    public static let fields: Set<String> = ["lossId", "reference", "filedAt"]
    public var lossId: String
    /// The DEA Form 106 number.
    public var reference: String
    public var filedAt: Timestamp

    public init(lossId: String, reference: String, filedAt: Timestamp) {
        self.lossId = lossId
        self.reference = reference
        self.filedAt = filedAt
    }

    public init(reading data: ObjectReader, context: ValidationContext) throws(FieldError) {
        lossId = try data.code("lossId")
        reference = try data.string("reference", maxLength: 100)
        filedAt = try data.timestamp("filedAt")
        try context.checkNotInFuture(filedAt, path: data.fieldPath("filedAt"))
    }

    public var json: JSONObject {
        JSONObject(["lossId": .string(lossId), "reference": .string(reference), "filedAt": .string(filedAt.rfc3339)])
    }
}
