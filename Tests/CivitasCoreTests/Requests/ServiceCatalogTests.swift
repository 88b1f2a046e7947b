import Foundation
import Testing

@testable import CivitasCore

@Suite("Reading a service catalog file")
struct ServiceCatalogTests {
    func parse(_ json: String) throws(CivitasError) -> [ServiceDefinition] {
        try ServiceCatalog.parse(Data(json.utf8))
    }

    func message(_ json: String) -> String? {
        do {
            _ = try parse(json)
            return nil
        } catch {
            return error.message
        }
    }

    @Test("reads Open311 service objects with attributes and Civitas fields")
    func readsFullEntry() throws {
        let services = try parse(
            """
            [{"service_code": "001", "service_name": "Cans left out 24x7", "description": "Cans out", "metadata": true,
              "type": "realtime", "keywords": "lorem, ipsum", "group": "sanitation", "department": "Public Works", "sla_hours": 48,
              "attributes": [{"variable": true, "code": "WHISHETN", "datatype": "singlevaluelist", "required": true,
                "datatype_description": "", "order": 1, "description": "Which?", "values": [{"key": 123, "name": "Ford"}, {"key": "124", "name": "Chrysler"}]}]},
             {"service_code": 2, "service_name": "Graffiti", "type": "batch", "keywords": ["paint", "tag"]}]
            """)
        #expect(services.count == 2)
        #expect(services[0].keywords == ["lorem", "ipsum"])
        #expect(services[0].department == "Public Works")
        #expect(services[0].slaHours == 48)
        #expect(services[0].attributes[0].values == [.init(key: "123", name: "Ford"), .init(key: "124", name: "Chrysler")])
        #expect(services[1].code == "2")
        #expect(services[1].type == .batch)
        #expect(services[1].keywords == ["paint", "tag"])
    }

    @Test("an error names the entry and the field")
    func namesEntryAndField() {
        #expect(
            message(#"[{"service_code": "A", "service_name": "A"}, {"service_code": "B"}]"#)
                == #"Entry 2 (service_code "B"): field "service_name" is required."#)
        #expect(
            message(#"[{"service_code": "A", "service_name": "A", "attributes": [{"code": "X", "datatype": "date", "description": "d"}]}]"#)
                == #"Entry 1 (service_code "A"): field "attributes[0].datatype" "date" is not one of string, number, datetime, text, singlevaluelist, multivaluelist."#
        )
        #expect(message(#"[{"service_code": "A", "service_name": "A", "type": "later"}]"#)?.contains(#"field "type""#) == true)
        #expect(message(#"[{"service_code": "A", "service_name": "A", "sla_hours": -3}]"#)?.contains(#"field "sla_hours""#) == true)
        #expect(message(#"[{"service_code": "A", "service_name": "A", "metadata": "yes"}]"#)?.contains(#"field "metadata""#) == true)
        #expect(
            message(
                #"[{"service_code": "A", "service_name": "A", "attributes": [{"code": "X", "datatype": "singlevaluelist", "description": "d"}]}]"#)
                == #"Entry 1 (service_code "A"): field "attributes[0].values" a singlevaluelist needs at least one value."#)
    }

    @Test("duplicate codes and non-array files are refused")
    func wholeFileErrors() {
        #expect(
            message(#"[{"service_code": "A", "service_name": "A"}, {"service_code": "A", "service_name": "B"}]"#)?.contains("already used by entry 1")
                == true)
        #expect(message(#"{"service_code": "A"}"#) == "The catalog must be a JSON array of service objects.")
        #expect(message("[{,}]")?.hasPrefix("The catalog is not valid JSON") == true)
    }

    @Test("a catalog survives being written and read again")
    func roundTrip() throws {
        let original = try parse(
            #"[{"service_code": "P", "service_name": "Pothole", "department": "Transport", "sla_hours": 72, "attributes": [{"code": "SIZE", "datatype": "singlevaluelist", "description": "How big?", "values": [{"key": "s", "name": "Small"}]}]}]"#
        )
        #expect(try ServiceCatalog.parse(ServiceCatalog.encode(original)) == original)
    }
}

@Suite("Translations in a service catalog file")
struct ServiceTranslationTests {
    static let entry = """
        [{"service_code": "BULKY", "service_name": "Bulky item pickup", "description": "Furniture to collect.", "group": "Trash",
          "keywords": "couch", "attributes": [{"code": "ITEMS", "datatype": "singlevaluelist", "description": "What is it?",
            "values": [{"key": "mattress", "name": "Mattress"}, {"key": "other", "name": "Something else"}]}],
          "translations": {"es": {"service_name": "Recolección de objetos grandes", "group": "Basura", "keywords": "sofá, colchón",
            "attributes": {"ITEMS": {"description": "¿Qué es?", "values": {"mattress": "Colchón"}}}}}}]
        """

    @Test("a service reads in Spanish where the agency translated it, and as the catalog has it elsewhere")
    func localized() throws {
        let service = try #require(try ServiceCatalog.parse(Data(Self.entry.utf8)).first)
        let spanish = service.localized(.spanish)
        #expect(spanish.name == "Recolección de objetos grandes" && spanish.group == "Basura")
        #expect(spanish.description == "Furniture to collect.", "not translated: the catalog's own")
        #expect(spanish.attributes[0].description == "¿Qué es?")
        #expect(spanish.attributes[0].values.map(\.name) == ["Colchón", "Something else"])
        #expect(spanish.attributes[0].values.map(\.key) == ["mattress", "other"], "keys never change")
        #expect(spanish.keywords.contains("sofá") && spanish.keywords.contains("couch"), "both languages' words find it")
        #expect(service.localized(.english) == service)
        #expect(service.name(in: .spanish) == "Recolección de objetos grandes" && service.name(in: .english) == "Bulky item pickup")
        // What is read is written back the same way.
        let again = try #require(try ServiceCatalog.parse(ServiceCatalog.encode([service])).first)
        #expect(again.translations == service.translations)
    }

    @Test("a translation naming an attribute, a value, a field or a language that does not exist is refused, named")
    func refused() {
        for (broken, named) in [
            (Self.entry.replacingOccurrences(of: #""ITEMS": {"description""#, with: #""ITEM": {"description""#), "translations.es.attributes.ITEM"),
            (Self.entry.replacingOccurrences(of: #""mattress": "Colchón""#, with: #""matress": "Colchón""#), "values.matress"),
            (Self.entry.replacingOccurrences(of: #""group": "Basura""#, with: #""grupo": "Basura""#), "translations.es.grupo"),
            (Self.entry.replacingOccurrences(of: #""es": {"#, with: #""fr": {"#), "translations.fr"),
        ] {
            do {
                _ = try ServiceCatalog.parse(Data(broken.utf8))
                Issue.record("\(named) should be refused")
            } catch {
                #expect(error.message.contains(named), "\(error.message)")
            }
        }
    }
}
