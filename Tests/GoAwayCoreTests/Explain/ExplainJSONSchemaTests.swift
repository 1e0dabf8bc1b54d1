import Foundation
import Testing
@testable import GoAwayCore

/// The JSON output checked against docs/explain-schema.json itself, so the documented schema and
/// the output cannot drift apart. The validator covers the JSON Schema keywords that file uses.
@Suite("Explain: JSON schema")
struct ExplainJSONSchemaTests {
    static let schemaURL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("docs/explain-schema.json")

    static func schema() throws -> JSON { try JSON.parse(Data(contentsOf: schemaURL)) }

    @Test("every code's JSON matches the documented schema", arguments: HTTP2ErrorCode.allDefined + [HTTP2ErrorCode(0x1f)])
    func codeOutputMatchesSchema(_ code: HTTP2ErrorCode) throws {
        let e = Explainer.explain(Explainer.observation(code: code, lastStreamID: 5, debugData: GoAwayDebugData("secret")))
        let output = try JSON.parse(Data(e.renderJSON().utf8))
        let errors = SchemaValidator(root: try Self.schema()).validate(output)
        #expect(errors.isEmpty, "\(errors)")
        #expect(output["schemaVersion"] == .number(1))
        #expect(output["frame"]?["code"]?["value"] == .number(Double(code.rawValue)))
        #expect(output["frame"]?["code"]?["treatedAs"] == .string(code.isDefined ? code.name! : "INTERNAL_ERROR"))
    }

    @Test("every message form's JSON matches the documented schema", arguments: messageCases)
    func messageOutputMatchesSchema(_ c: MessageCase) throws {
        let o = try #require(ErrorMessageParser.parse(c.message))
        let output = try JSON.parse(Data(Explainer.explain(o).renderJSON().utf8))
        let errors = SchemaValidator(root: try Self.schema()).validate(output)
        #expect(errors.isEmpty, "\(errors)")
    }

    @Test func keysComeInTheDocumentedOrder() throws {
        let json = Explainer.explain(Explainer.observation(code: .noError, lastStreamID: 1, debugData: nil)).renderJSON()
        guard case .object(let props)? = try Self.schema()["properties"] else { Issue.record("no properties"); return }
        let documented = try Self.schema().orderedKeys(of: "properties", in: Data(contentsOf: Self.schemaURL))
        let topLevel = json.split(separator: "\n").filter { $0.hasPrefix("  \"") }.map { $0.dropFirst(3).prefix { $0 != "\"" } }.map(String.init)
        #expect(topLevel == documented)
        #expect(Set(documented) == Set(props.keys))
    }

    /// The validator must be able to fail, or the tests above prove nothing.
    @Test func validatorRejectsBrokenOutput() throws {
        let schema = try Self.schema()
        var output = try JSON.parse(Data(Explainer.explain(Explainer.observation(code: .cancel, lastStreamID: 1, debugData: nil)).renderJSON().utf8))
        guard case .object(var top) = output else { Issue.record("not an object"); return }
        top["causes"] = .array([.object(["id": .string("x"), "title": .string("t"), "likelihood": .string("certain"), "reason": .string("r")])])
        top.removeValue(forKey: "rfc")
        top["extra"] = .null
        output = .object(top)
        let errors = SchemaValidator(root: schema).validate(output)
        #expect(errors.contains { $0.contains("rfc") && $0.contains("required") })
        #expect(errors.contains { $0.contains("likelihood") })
        #expect(errors.contains { $0.contains("extra") })
    }
}

/// A JSON value decoded strictly (Bool and numbers stay apart, unlike JSONSerialization on Linux).
indirect enum JSON: Decodable, Equatable {
    case null, bool(Bool), number(Double), string(String), array([JSON]), object([String: JSON])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSON].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSON].self)) }
    }

    static func parse(_ data: Data) throws -> JSON { try JSONDecoder().decode(JSON.self, from: data) }

    subscript(key: String) -> JSON? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    /// Key order is not part of the decoded value; read it from the source text for the top-level
    /// `properties` object (its keys are the only ones indented by exactly four spaces + quote).
    func orderedKeys(of member: String, in data: Data) throws -> [String] {
        let text = String(decoding: data, as: UTF8.self)
        guard let start = text.range(of: "\"\(member)\": {") else { return [] }
        return text[start.upperBound...].split(separator: "\n")
            .filter { $0.hasPrefix("    \"") && !$0.hasPrefix("     ") }
            .map { String($0.dropFirst(5).prefix { $0 != "\"" }) }
    }
}

/// Supports the keywords docs/explain-schema.json uses: type, const, enum, required, properties,
/// additionalProperties: false, items, minimum, maximum, pattern.
struct SchemaValidator {
    var root: JSON

    func validate(_ value: JSON) -> [String] { check(value, against: root, at: "$") }

    private func check(_ value: JSON, against schema: JSON, at path: String) -> [String] {
        var errors: [String] = []
        if let expected = schema["const"], expected != value { errors.append("\(path): expected const \(expected)") }
        if case .array(let options)? = schema["enum"], !options.contains(value) {
            errors.append("\(path): \(value) not in enum")
        }
        if let type = schema["type"] {
            let allowed: [String] = switch type {
            case .string(let t): [t]
            case .array(let ts): ts.compactMap { if case .string(let t) = $0 { t } else { nil } }
            default: []
            }
            if !allowed.contains(where: { Self.matches(value, type: $0) }) {
                errors.append("\(path): \(value) is not \(allowed)")
                return errors
            }
        }
        switch value {
        case .object(let members):
            if case .array(let required)? = schema["required"] {
                for case .string(let key) in required where members[key] == nil {
                    errors.append("\(path).\(key): required key missing")
                }
            }
            let properties: [String: JSON] = if case .object(let p)? = schema["properties"] { p } else { [:] }
            for (key, member) in members.sorted(by: { $0.key < $1.key }) {
                if let sub = properties[key] {
                    errors += check(member, against: sub, at: "\(path).\(key)")
                } else if schema["additionalProperties"] == .bool(false) {
                    errors.append("\(path).\(key): additional property not allowed")
                }
            }
        case .array(let items):
            if let itemSchema = schema["items"] {
                for (index, item) in items.enumerated() { errors += check(item, against: itemSchema, at: "\(path)[\(index)]") }
            }
        case .number(let n):
            if case .number(let min)? = schema["minimum"], n < min { errors.append("\(path): \(n) < \(min)") }
            if case .number(let max)? = schema["maximum"], n > max { errors.append("\(path): \(n) > \(max)") }
        case .string(let s):
            if case .string(let pattern)? = schema["pattern"] {
                if let regex = try? Regex(pattern), s.firstMatch(of: regex) == nil {
                    errors.append("\(path): \"\(s)\" does not match \(pattern)")
                }
            }
        case .null, .bool:
            break
        }
        return errors
    }

    private static func matches(_ value: JSON, type: String) -> Bool {
        switch (type, value) {
        case ("null", .null), ("boolean", .bool), ("string", .string), ("array", .array), ("object", .object),
             ("number", .number):
            true
        case ("integer", .number(let n)): n.rounded() == n
        default: false
        }
    }
}
