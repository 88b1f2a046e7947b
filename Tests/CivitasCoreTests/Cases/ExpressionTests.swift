import Foundation
import Testing

@testable import CivitasCore

@Suite("Rule expressions staff write in case-type definitions")
struct ExpressionTests {
    /// 2026-06-15T12:00:00Z, injected so date functions are reproducible.
    static let now = Date(timeIntervalSince1970: 1_781_524_800)

    static func day(_ text: String) -> ExpressionValue {
        .date(Expression.Day(text: text)!.date)
    }

    static func evaluate(_ source: String, _ values: [String: ExpressionValue] = [:]) throws -> Evaluation {
        try Expression(source).evaluate(values, now: now)
    }

    static func value(_ source: String, _ values: [String: ExpressionValue] = [:]) throws -> ExpressionValue {
        try evaluate(source, values).value
    }

    static func parseError(_ source: String) -> ExpressionError? {
        do {
            _ = try Expression(source)
            return nil
        } catch {
            return error
        }
    }

    static func evaluationError(_ source: String, _ values: [String: ExpressionValue] = [:]) throws -> ExpressionError? {
        let expression = try Expression(source)
        do {
            _ = try expression.evaluate(values, now: now)
            return nil
        } catch {
            return error
        }
    }

    // MARK: The examples from the design

    @Test(
        "the rules agencies write evaluate as staff expect",
        arguments: [
            ("weekly_earnings <= 300", ["weekly_earnings": ExpressionValue.number(300)], true),
            ("weekly_earnings <= 300", ["weekly_earnings": .number(300.01)], false),
            ("amount < 5000 and business_type in [\"retail\", \"food\"]", ["amount": .number(4000), "business_type": .text("food")], true),
            ("amount < 5000 and business_type in [\"retail\", \"food\"]", ["amount": .number(4000), "business_type": .text("farm")], false),
            ("not (reason == \"quit\") or good_cause == true", ["reason": .text("quit"), "good_cause": .bool(true)], true),
            ("not (reason == \"quit\") or good_cause == true", ["reason": .text("quit"), "good_cause": .bool(false)], false),
            ("not (reason == \"quit\") or good_cause == true", ["reason": .text("laid off")], true),
            ("present(employer_name) and length(employer_name) > 1", ["employer_name": .text("Acme")], true),
            ("present(employer_name) and length(employer_name) > 1", [:], false),
            ("years_since(birth_date) >= 18", ["birth_date": .text("2008-06-15")], true),
            ("years_since(birth_date) >= 18", ["birth_date": .text("2008-06-16")], false),
            ("days_since(last_day_worked) <= 365", ["last_day_worked": .text("2025-06-15")], true),
            ("days_since(last_day_worked) <= 365", ["last_day_worked": .text("2025-06-14")], false),
            ("household_size * 500 + 1000 >= monthly_rent", ["household_size": .number(3), "monthly_rent": .number(2500)], true),
            ("household_size * 500 + 1000 >= monthly_rent", ["household_size": .number(3), "monthly_rent": .number(2501)], false),
            ("training_cost <= 2500 or supervisor_approved", ["training_cost": .number(2500)], true),
            ("training_cost <= 2500 or supervisor_approved", ["training_cost": .number(4000), "supervisor_approved": .bool(false)], false),
        ])
    func designExamples(source: String, values: [String: ExpressionValue], expected: Bool) throws {
        #expect(try Self.evaluate(source, values).passed == expected)
    }

    @Test("a failed rule reports the value it read")
    func failedRuleReportsUsedValue() throws {
        let evaluation = try Self.evaluate("weekly_earnings <= 300", ["weekly_earnings": .number(312)])
        #expect(evaluation.value == .bool(false))
        #expect(!evaluation.passed)
        #expect(evaluation.used.count == 1)
        #expect(evaluation.used.first?.name == "weekly_earnings")
        #expect(evaluation.used.first?.value == .number(312))
        #expect(evaluation == Evaluation(value: .bool(false), used: [("weekly_earnings", .number(312))]))
    }

    // MARK: Precedence and associativity

    @Test(
        "operators bind in the documented order",
        arguments: [
            ("1 + 2 * 3", ExpressionValue.number(7)),
            ("(1 + 2) * 3", .number(9)),
            ("10 - 4 - 3", .number(3)),
            ("10 - (4 - 3)", .number(9)),
            ("16 / 4 / 2", .number(2)),
            ("2 * 3 / 4", .number(1.5)),
            ("-2 * 3 + 10", .number(4)),
            ("- (1 + 2) * 2", .number(-6)),
            ("--3", .number(3)),
            ("true or false and false", .bool(true)),
            ("(true or false) and false", .bool(false)),
            ("not true or true", .bool(true)),
            ("not (true or true)", .bool(false)),
            ("not 1 == 2", .bool(true)),
            ("not not true", .bool(true)),
            ("1 + 1 == 2 and 3 > 2", .bool(true)),
            ("2 * 3 in [6, 7]", .bool(true)),
        ])
    func precedence(source: String, expected: ExpressionValue) throws {
        #expect(try Self.value(source) == expected)
    }

    @Test("comparisons cannot be chained")
    func comparisonsAreNonAssociative() {
        for source in ["a < b < c", "a == b == c", "a in b in c", "1 < 2 == true == true"] {
            #expect(Self.parseError(source)?.message == "Comparisons cannot be chained; join them with 'and', e.g. a < b and b < c")
        }
        #expect(Self.parseError("a < b < c")?.offset == 6)
    }

    // MARK: Operators

    @Test(
        "comparison operators",
        arguments: [
            ("3 == 3", true), ("3 == 3.0", true), ("3 != 4", true), ("3 != 3", false),
            ("2 < 3", true), ("3 < 3", false), ("3 <= 3", true), ("4 <= 3", false),
            ("4 > 3", true), ("3 > 3", false), ("3 >= 3", true), ("2 >= 3", false),
            ("'apple' < 'banana'", true), ("'b' >= 'a'", true), ("'a' == 'a'", true), ("'a' == 'A'", false),
            ("true == true", true), ("true != false", true),
            ("null == null", true), ("null != 0", true), ("1 == '1'", false), ("'' == null", false),
            ("[1, 'a'] == [1, 'a']", true), ("[1, 2] == [2, 1]", false), ("[] == []", true),
        ])
    func comparisons(source: String, expected: Bool) throws {
        #expect(try Self.value(source) == .bool(expected))
    }

    @Test(
        "arithmetic operators",
        arguments: [
            ("7 + 5", ExpressionValue.number(12)),
            ("7 - 12", .number(-5)),
            ("1.5 * 4", .number(6)),
            ("7 / 2", .number(3.5)),
            ("1_000 + 12.5", .number(1012.5)),
            ("'Jane' + ' ' + 'Doe'", .text("Jane Doe")),
            ("-x", .number(-4)),
        ])
    func arithmetic(source: String, expected: ExpressionValue) throws {
        #expect(try Self.value(source, ["x": .number(4)]) == expected)
    }

    @Test("arithmetic refuses mixed or missing operands")
    func arithmeticErrors() throws {
        #expect(try Self.evaluationError("10 / (5 - 5)")?.message == "Division by zero")
        #expect(try Self.evaluationError("'a' + 1")?.message == "Cannot use '+' with text and a number")
        #expect(try Self.evaluationError("'a' - 'b'")?.message == "Cannot use '-' with text and text")
        #expect(try Self.evaluationError("true * 2")?.message == "Cannot use '*' with a yes/no value and a number")
        #expect(try Self.evaluationError("null + 1")?.message == "Cannot use '+' with no value and a number")
        #expect(try Self.evaluationError("-name", ["name": .text("x")])?.message == "Cannot use '-' with text")
        let rent = "household_size * 500 + 1000 >= monthly_rent"
        #expect(try Self.evaluationError(rent, ["monthly_rent": .number(900)])?.message == "household_size has no value")
        #expect(try Self.evaluationError(rent, ["household_size": .number(2), "monthly_rent": .null])?.message == "monthly_rent has no value")
        #expect(try Self.evaluationError("1 + 2 * income")?.message == "income has no value")
        #expect(try Self.evaluationError("-income")?.message == "income has no value")
    }

    @Test("'and' and 'or' short-circuit and do not read the fields they skip")
    func shortCircuit() throws {
        let skipped = try Self.evaluate("false and unknown_field", [:])
        #expect(skipped.value == .bool(false))
        #expect(skipped.used.isEmpty)

        let early = try Self.evaluate("training_cost <= 2500 or supervisor_approved", ["training_cost": .number(100)])
        #expect(early.passed)
        #expect(early.used.map(\.name) == ["training_cost"])

        let late = try Self.evaluate("a or b or c", ["a": .bool(false), "b": .bool(true)])
        #expect(late.passed)
        #expect(late.used.map(\.name) == ["a", "b"])

        let allTrue = try Self.evaluate("a and b and c", ["a": .bool(true), "b": .bool(true), "c": .bool(true)])
        #expect(allTrue.passed)
        #expect(allTrue.used.map(\.name) == ["a", "b", "c"])
    }

    @Test("'and', 'or' and 'not' need yes/no values")
    func booleanOperandErrors() throws {
        #expect(try Self.evaluationError("supervisor_approved and true")?.message == "supervisor_approved has no value")
        #expect(try Self.evaluationError("false or flag", ["flag": .null])?.message == "flag has no value")
        #expect(try Self.evaluationError("not flag")?.message == "flag has no value")
        #expect(try Self.evaluationError("1 and true")?.message == "Expected yes/no for 'and' but got a number")
        #expect(try Self.evaluationError("false or 'yes'")?.message == "Expected yes/no for 'or' but got text")
        #expect(try Self.evaluationError("not null")?.message == "Expected yes/no after 'not' but got no value")
        #expect(try Self.evaluationError("name or true", ["name": .text("Ada")])?.message == "Expected name to be yes/no but it is text")
    }

    @Test("ordering needs comparable values and names missing fields")
    func orderingErrors() throws {
        #expect(try Self.evaluationError("weekly_earnings <= 300")?.message == "weekly_earnings has no value")
        #expect(try Self.evaluationError("300 > weekly_earnings", ["weekly_earnings": .null])?.message == "weekly_earnings has no value")
        #expect(try Self.evaluationError("reason < 3", ["reason": .text("quit")])?.message == "Cannot compare text with a number")
        #expect(try Self.evaluationError("3 < reason", ["reason": .text("quit")])?.message == "Cannot compare a number with text")
        #expect(try Self.evaluationError("true < false")?.message == "Cannot use '<' on yes/no values")
        #expect(try Self.evaluationError("[1] >= [2]")?.message == "Cannot use '>=' on lists")
        #expect(try Self.evaluationError("null < 1")?.message == "Cannot compare no value with a number")
        #expect(try Self.evaluationError("d > 3", ["d": Self.day("2026-01-01")])?.message == "Cannot compare a date with a number")
    }

    @Test("equality never fails on missing fields: a missing field equals only null")
    func equalityWithMissingFields() throws {
        let evaluation = try Self.evaluate("reason == 'quit'")
        #expect(evaluation.value == .bool(false))
        #expect(evaluation.used.count == 1)
        #expect(evaluation.used.first?.name == "reason")
        #expect(evaluation.used.first?.value == .null)
        #expect(try Self.value("reason == null") == .bool(true))
        #expect(try Self.value("reason != null", ["reason": .text("quit")]) == .bool(true))
    }

    // MARK: Lists

    @Test("membership in literal lists and list fields")
    func listMembership() throws {
        #expect(try Self.value("3 in [1, 2, 3]") == .bool(true))
        #expect(try Self.value("4 in [1, 2, 3]") == .bool(false))
        #expect(try Self.value("'food' in ['retail', 'food',]") == .bool(true))
        #expect(try Self.value("x in []", ["x": .number(1)]) == .bool(false))
        #expect(try Self.value("x in [a, b]", ["x": .number(2), "a": .number(1), "b": .number(2)]) == .bool(true))
        let programs: [String: ExpressionValue] = ["program": .text("snap"), "programs": .list([.text("wic"), .text("snap")])]
        #expect(try Self.value("program in programs", programs) == .bool(true))
        #expect(try Self.value("'tanf' in programs", programs) == .bool(false))
        #expect(try Self.value("missing in ['a']") == .bool(false))
        #expect(try Self.value("missing in ['a', null]") == .bool(true))
        #expect(try Self.value("d in ['2026-01-01']", ["d": Self.day("2026-01-01")]) == .bool(true))
        #expect(try Self.value("not (x in [1, 2])", ["x": .number(3)]) == .bool(true))
    }

    @Test("'in' needs a list on its right")
    func membershipErrors() throws {
        #expect(try Self.evaluationError("'snap' in programs")?.message == "programs has no value")
        #expect(try Self.evaluationError("'a' in 'abc'")?.message == "Expected a list after 'in' but got text")
        #expect(try Self.evaluationError("1 in null")?.message == "Expected a list after 'in' but got no value")
    }

    // MARK: Functions

    @Test(
        "present() is false only for no value, blank text and empty lists",
        arguments: [
            (ExpressionValue.null, false), (.text(""), false), (.text("  \t"), false), (.list([]), false),
            (.text("Acme"), true), (.number(0), true), (.bool(false), true), (.list([.null]), true), (day("2026-01-01"), true),
        ])
    func present(value: ExpressionValue, expected: Bool) throws {
        #expect(try Self.value("present(x)", ["x": value]) == .bool(expected))
    }

    @Test("present() accepts a field that is missing altogether")
    func presentOnMissingField() throws {
        let evaluation = try Self.evaluate("present(employer_name)")
        #expect(evaluation.value == .bool(false))
        #expect(evaluation.used.first?.name == "employer_name")
        #expect(evaluation.used.first?.value == .null)
    }

    @Test("length() counts characters of text and items of lists")
    func length() throws {
        #expect(try Self.value("length('Zoë')") == .number(3))
        #expect(try Self.value("length('')") == .number(0))
        #expect(try Self.value("length(items)", ["items": .list([.number(1), .number(2)])]) == .number(2))
        #expect(try Self.value("length([1, 2, 3])") == .number(3))
        #expect(try Self.evaluationError("length(employer_name)")?.message == "employer_name has no value")
        #expect(try Self.evaluationError("length(5)")?.message == "length() needs text or a list, got a number")
    }

    @Test("min() and max() pick from numbers, text and dates")
    func minAndMax() throws {
        #expect(try Self.value("min(3, 7)") == .number(3))
        #expect(try Self.value("max(3, 7)") == .number(7))
        #expect(try Self.value("max(-1, -2)") == .number(-1))
        #expect(try Self.value("min(benefit, 450) * 2", ["benefit": .number(500)]) == .number(900))
        #expect(try Self.value("min('pear', 'apple')") == .text("apple"))
        #expect(try Self.value("max(a, date('2026-03-01'))", ["a": Self.day("2026-01-01")]) == Self.day("2026-03-01"))
        #expect(try Self.evaluationError("max(benefit, 1)")?.message == "benefit has no value")
        #expect(try Self.evaluationError("min(1, 'a')")?.message == "Cannot compare a number with text")
    }

    @Test(
        "round() rounds half away from zero to two decimals",
        arguments: [(312.456, 312.46), (1.005, 1.01), (2.675, 2.68), (-1.005, -1.01), (2.5, 2.5), (10, 10), (0.004, 0)])
    func round(input: Double, expected: Double) throws {
        #expect(try Self.value("round(x)", ["x": .number(input)]) == .number(expected))
    }

    @Test("round() needs a number")
    func roundErrors() throws {
        #expect(try Self.evaluationError("round(x)")?.message == "x has no value")
        #expect(try Self.evaluationError("round('1.5')")?.message == "Cannot use 'round()' with text")
    }

    @Test("days_since() counts whole days up to now, rounding down")
    func daysSince() throws {
        #expect(try Self.value("days_since('2026-06-15')") == .number(0))
        #expect(try Self.value("days_since('2026-06-14')") == .number(1))
        #expect(try Self.value("days_since('2025-06-15')") == .number(365))
        #expect(try Self.value("days_since('2026-06-16')") == .number(-1))
        // 13 hours before now is not yet a whole day.
        #expect(try Self.value("days_since(t)", ["t": .date(Date(timeIntervalSince1970: 1_781_478_000))]) == .number(0))
        #expect(try Self.value("days_since(d)", ["d": Self.day("2026-06-01")]) == .number(14))
        #expect(try Self.evaluationError("days_since(last_day_worked)")?.message == "last_day_worked has no value")
        #expect(try Self.evaluationError("days_since(d)", ["d": .text("June 1")])?.message == "'June 1' is not a date (expected YYYY-MM-DD)")
        #expect(try Self.evaluationError("days_since(3)")?.message == "days_since() needs a date, got a number")
    }

    @Test(
        "years_since() counts whole calendar years like an age",
        arguments: [
            ("2008-06-15", 18), ("2008-06-16", 17), ("2008-06-14", 18), ("2007-12-31", 18), ("2026-06-15", 0),
            ("2000-02-29", 26), ("1926-06-15", 100), ("2026-06-16", -1),
        ])
    func yearsSince(birthDate: String, expected: Double) throws {
        #expect(try Self.value("years_since(d)", ["d": .text(birthDate)]) == .number(expected))
        #expect(try Self.value("years_since(d)", ["d": Self.day(birthDate)]) == .number(expected))
    }

    @Test("a leap-day birthday is reached on 1 March in common years")
    func leapDayBirthday() throws {
        let expression = try Expression("years_since(birth_date)")
        let values: [String: ExpressionValue] = ["birth_date": .text("2008-02-29")]
        let february28 = try #require(Expression.Day(text: "2027-02-28")).date
        let march1 = try #require(Expression.Day(text: "2027-03-01")).date
        #expect(try expression.evaluate(values, now: february28).value == .number(18))
        #expect(try expression.evaluate(values, now: march1).value == .number(19))
    }

    @Test("date() turns YYYY-MM-DD text into a date")
    func dateFunction() throws {
        #expect(try Self.value("date('2026-11-24')") == .date(Date(timeIntervalSince1970: 1_795_478_400)))
        #expect(try Self.value("date(d)", ["d": Self.day("2026-01-02")]) == Self.day("2026-01-02"))
        #expect(try Self.evaluationError("date(d)", ["d": .text("2026-02-30")])?.message == "'2026-02-30' is not a date (expected YYYY-MM-DD)")
        #expect(try Self.evaluationError("date(d)")?.message == "d has no value")
        #expect(try Self.evaluationError("date(5)")?.message == "date() needs a date, got a number")
    }

    // MARK: Dates

    @Test("dates compare with dates and with date-shaped text, by calendar day")
    func dateComparisons() throws {
        let values: [String: ExpressionValue] = [
            "application_date": Self.day("2026-03-10"),
            "deadline": Self.day("2026-03-31"),
            "submitted_at": .date(Date(timeIntervalSince1970: 1_781_548_200)),  // 2026-06-15T18:30:00Z
        ]
        #expect(try Self.value("application_date < deadline", values) == .bool(true))
        #expect(try Self.value("application_date >= '2026-03-10'", values) == .bool(true))
        #expect(try Self.value("'2026-03-11' > application_date", values) == .bool(true))
        #expect(try Self.value("application_date == '2026-03-10'", values) == .bool(true))
        #expect(try Self.value("application_date != '2026-03-10'", values) == .bool(false))
        #expect(try Self.value("application_date == 'March 10'", values) == .bool(false))
        #expect(try Self.value("application_date <= date('2026-03-09')", values) == .bool(false))
        #expect(try Self.value("submitted_at <= date('2026-06-15')", values) == .bool(true))
        #expect(try Self.value("submitted_at == '2026-06-15'", values) == .bool(true))
        #expect(try Self.value("'2026-01-02' > '2025-12-31'") == .bool(true))
        #expect(try Self.evaluationError("deadline < 'soon'", values)?.message == "'soon' is not a date (expected YYYY-MM-DD)")
    }

    // MARK: Fields read

    @Test("used lists each field once, in the order first read, including missing ones")
    func usedOrder() throws {
        let evaluation = try Self.evaluate(
            "b + a + b > 0 and present(c) or z",
            ["a": .number(1), "b": .number(2), "z": .bool(true)])
        #expect(evaluation.passed)
        #expect(evaluation.used.map(\.name) == ["b", "a", "c", "z"])
        #expect(evaluation.used.map(\.value) == [.number(2), .number(1), .null, .bool(true)])
    }

    @Test("identifiers lists every field the expression mentions")
    func identifiers() throws {
        let expression = try Expression(
            "household.size * 500 + 1000 >= monthly_rent and (x in [a, b] or present(employer_name)) and max(c, 1) > days_since(d)")
        #expect(expression.identifiers == ["household.size", "monthly_rent", "x", "a", "b", "employer_name", "c", "d"])
        #expect(try Expression("1 + 2 == 3 and true").identifiers.isEmpty)
        #expect(try Expression("_private_flag or True").identifiers == ["_private_flag", "True"])
    }

    @Test("dotted field names are read from the values as written")
    func dottedFieldNames() throws {
        #expect(try Self.value("household.size >= 4", ["household.size": .number(4)]) == .bool(true))
    }

    // MARK: Literals

    @Test("text literals use either quote and a few escapes")
    func textLiterals() throws {
        #expect(try Self.value(#""say \"hi\"""#) == .text("say \"hi\""))
        #expect(try Self.value(#"'it\'s' + "\\""#) == .text("it's\\"))
        #expect(try Self.value(#"'a\tb\nc'"#) == .text("a\tb\nc"))
        #expect(try Self.value(#""it's""#) == .text("it's"))
        #expect(try Self.value("'café' == 'café'") == .bool(true))
    }

    @Test("number, yes/no, null and list literals")
    func otherLiterals() throws {
        #expect(try Self.value("1_000_000") == .number(1_000_000))
        #expect(try Self.value("12.5") == .number(12.5))
        #expect(try Self.value("true") == .bool(true))
        #expect(try Self.value("false") == .bool(false))
        #expect(try Self.value("null") == .null)
        #expect(try Self.value("[1, 'a', true, null, [2]]") == .list([.number(1), .text("a"), .bool(true), .null, .list([.number(2)])]))
        #expect(try Self.value(" \n 42 \t") == .number(42))
    }

    @Test("a non-yes/no result is a value but does not pass")
    func nonBooleanResultDoesNotPass() throws {
        let evaluation = try Self.evaluate("amount * 2", ["amount": .number(21)])
        #expect(evaluation.value == .number(42))
        #expect(!evaluation.passed)
        #expect(try !Self.evaluate("null").passed)
    }

    // MARK: Parse errors

    @Test(
        "syntax errors say what is wrong and where",
        arguments: [
            ("amount <", "Expected a value after '<'", 8),
            ("amount < ", "Expected a value after '<'", 9),
            ("amount < )", "Expected a value after '<'", 9),
            ("amount < 5000 and", "Expected a value after 'and'", 17),
            ("amount < 5000 or", "Expected a value after 'or'", 16),
            ("not", "Expected a value after 'not'", 3),
            ("1 +", "Expected a value after '+'", 3),
            (")", "Expected a value", 0),
            ("(a > 1", "Expected ')'", 6),
            ("(a > 1 b", "Expected ')'", 7),
            ("a @ b", "Unexpected character '@'", 2),
            ("'café' @", "Unexpected character '@'", 7),
            ("foo(1)", "Unknown function 'foo'", 0),
            ("a and Length(b) > 1", "Unknown function 'Length'", 6),
            ("\"abc", "Unterminated text", 0),
            ("x == 'ab", "Unterminated text", 5),
            ("'abc\\", "Unterminated text", 0),
            ("'a\\q'", "Unknown escape '\\q' in text", 2),
            ("length(a, b)", "length() takes 1 value, got 2", 0),
            ("min(1)", "min() takes 2 values, got 1", 0),
            ("1 + present()", "present() takes 1 value, got 0", 4),
            ("max(1, 2", "Expected ')'", 8),
            ("max(1 2)", "Expected ',' or ')'", 6),
            ("[1, 2", "Expected ']'", 5),
            ("[1 2]", "Expected ',' or ']'", 3),
            ("date('2026-13-01')", "'2026-13-01' is not a date (expected YYYY-MM-DD)", 5),
            ("", "Expression is empty", 0),
            ("  \n ", "Expression is empty", 0),
            ("a = 1", "Use '==' to compare values", 2),
            ("a && b", "Use 'and' instead of '&&'", 2),
            ("a || b", "Use 'or' instead of '||'", 2),
            ("!a", "Use 'not' instead of '!'", 0),
            ("a b", "Unexpected 'b'", 2),
            ("a AND b", "Unexpected 'AND'; keywords are lowercase: 'and'", 2),
            ("a not in [1]", "Write 'not (a in [...])' instead of 'a not in [...]'", 2),
            ("a)", "Unexpected ')' without a matching '('", 1),
            ("a == not b", "Put 'not' and what it applies to in brackets here, e.g. (not a)", 5),
            ("1.x", "Expected a digit after '.' in a number", 2),
            ("1.5.2", "Unexpected character '.'", 3),
            ("12abc", "Field names must start with a letter or '_'", 0),
            ("1__000", "Misplaced '_' in number", 1),
            ("1000_", "Misplaced '_' in number", 4),
            ("a. > 1", "Field name 'a.' cannot end with '.'", 0),
            ("a..b", "Field name 'a..b' has an empty part between dots", 0),
            (".5 > x", "Write numbers with a leading digit, e.g. 0.5", 0),
        ])
    func parseErrors(source: String, message: String, offset: Int) throws {
        let error = try #require(Self.parseError(source))
        #expect(error.message == message)
        #expect(error.offset == offset)
    }

    @Test("errors thrown while parsing can be caught with #expect(throws:)")
    func typedParseError() {
        #expect(throws: ExpressionError("Unknown function 'foo'", offset: 0)) {
            try Expression("foo(1)")
        }
    }

    @Test("evaluation errors carry no offset")
    func evaluationErrorsHaveNoOffset() throws {
        let error = try #require(try Self.evaluationError("weekly_earnings <= 300"))
        #expect(error.offset == nil)
        #expect(error.description == "weekly_earnings has no value")
    }

    // MARK: Limits

    @Test("nesting is limited to 64 levels")
    func nestingLimit() throws {
        let deepest = String(repeating: "(", count: 64) + "1" + String(repeating: ")", count: 64)
        #expect(try Self.value(deepest) == .number(1))

        let tooDeep = String(repeating: "(", count: 65) + "1" + String(repeating: ")", count: 65)
        let error = try #require(Self.parseError(tooDeep))
        #expect(error.message == "Expression is nested too deeply")
        #expect(error.offset == 64)

        #expect(Self.parseError(String(repeating: "not ", count: 65) + "true")?.message == "Expression is nested too deeply")
        #expect(Self.parseError(String(repeating: "-", count: 65) + "1")?.message == "Expression is nested too deeply")
        #expect(Self.parseError(String(repeating: "[", count: 65) + String(repeating: "]", count: 65))?.message == "Expression is nested too deeply")
        #expect(
            Self.parseError(String(repeating: "length(", count: 65) + "'a'" + String(repeating: ")", count: 65))?.message
                == "Expression is nested too deeply")
    }

    @Test("long flat chains are not nesting")
    func longChainsAreFine() throws {
        let sum = Array(repeating: "1", count: 900).joined(separator: "+")
        #expect(try Self.value(sum) == .number(900))
        let conditions = Array(repeating: "true", count: 200).joined(separator: " and ")
        #expect(try Self.value(conditions) == .bool(true))
    }

    @Test("source is limited to 2000 characters")
    func lengthLimit() throws {
        let longest = "x" + String(repeating: " ", count: 1998) + "1"
        #expect(Self.parseError(longest)?.message == "Unexpected '1'")
        let tooLong = longest + " "
        let error = try #require(Self.parseError(tooLong))
        #expect(error.message == "Expression is too long (at most 2000 characters)")
        #expect(error.offset == 2000)
    }

    // MARK: Descriptions and equality

    @Test(
        "values are described in plain words",
        arguments: [
            (ExpressionValue.number(312), "312"),
            (.number(312.5), "312.5"),
            (.number(-4), "-4"),
            (.number(-0.0), "0"),
            (.number(0.1 + 0.2), "0.3"),
            (.number(1e20), "1e+20"),
            (.text("Acme Ltd"), "Acme Ltd"),
            (.bool(true), "yes"),
            (.bool(false), "no"),
            (.null, "no value"),
            (.date(Date(timeIntervalSince1970: 1_781_548_200)), "2026-06-15"),
            (.date(Date(timeIntervalSince1970: -1)), "1969-12-31"),
            (.list([.text("retail"), .text("food")]), "retail, food"),
            (.list([.number(1), .bool(false), .null]), "1, no, no value"),
            (.list([]), ""),
        ])
    func valueDescriptions(value: ExpressionValue, expected: String) {
        #expect(value.description == expected)
    }

    @Test("errors describe their position counting from one")
    func errorDescription() throws {
        let error = try #require(Self.parseError("a @ b"))
        #expect(error.description == "at character 3: Unexpected character '@'")
        #expect(ExpressionError("Division by zero").description == "Division by zero")
    }

    @Test("calendar days round-trip through text across eras and leap years")
    func calendarDays() throws {
        for text in ["1970-01-01", "1969-12-31", "2000-02-29", "1900-03-01", "2024-12-31", "0001-01-01", "9999-12-31", "1582-10-10"] {
            let day = try #require(Expression.Day(text: text))
            #expect(day.description == text)
            #expect(Expression.Day(day.date) == day)
        }
        for text in ["2026-02-29", "1900-02-29", "2026-00-10", "2026-1-01", "2026-01-01T00:00:00Z", "26-01-01", "abcd-ef-gh"] {
            #expect(Expression.Day(text: text) == nil)
        }
        #expect(try #require(Expression.Day(text: "2026-06-15")).date == Date(timeIntervalSince1970: 1_781_481_600))
    }

    @Test("absurd timestamps in case data do not crash date handling")
    func absurdTimestamps() throws {
        for seconds in [Double.nan, .infinity, -.infinity, 1e300, -1e300] {
            let value = ExpressionValue.date(Date(timeIntervalSince1970: seconds))
            #expect(!value.description.isEmpty)
            #expect(try Self.value("years_since(d) > 0 or true", ["d": value]) == .bool(true))
        }
    }

    @Test("expressions are equal when their source is")
    func expressionEquality() throws {
        #expect(try Expression("a > 1") == Expression("a > 1"))
        #expect(try Expression("a > 1") != Expression("a >  1"))
        #expect(try Expression("a > 1").source == "a > 1")
    }

    @Test("evaluations compare value and fields read in order")
    func evaluationEquality() {
        let first = Evaluation(value: .bool(true), used: [("a", .number(1)), ("b", .null)])
        #expect(first == Evaluation(value: .bool(true), used: [("a", .number(1)), ("b", .null)]))
        #expect(first != Evaluation(value: .bool(true), used: [("b", .null), ("a", .number(1))]))
        #expect(first != Evaluation(value: .bool(true), used: [("a", .number(2)), ("b", .null)]))
        #expect(first != Evaluation(value: .bool(false), used: [("a", .number(1)), ("b", .null)]))
        #expect(first != Evaluation(value: .bool(true), used: [("a", .number(1))]))
    }
}
