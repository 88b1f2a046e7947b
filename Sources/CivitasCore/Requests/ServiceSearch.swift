import Foundation

/// Finds the services a resident means by what they type ("sofa", "street light", "broken lamp"), best first.
///
/// Each word of the query is compared, stemmed and without accents, with each service's words: its name counts most,
/// then its keywords and the search words an admin added (`civitas services settings --search-words`), then its
/// group, then its description. A word also matches the start of a longer one ("graf" finds "graffiti"), for half.
/// The whole query inside the name counts extra, so "street light" puts "Street light out" before "Street sign".
public enum ServiceSearch {
    public struct Result: Sendable, Equatable {
        public var service: ServiceDefinition
        public var score: Double
    }

    /// The services that match at least one word, best first (ties by name).
    public static func rank(_ query: String, in services: [ServiceDefinition], searchWords: [String: [String]] = [:]) -> [Result] {
        let asked = orderedWords(query)
        guard !asked.isEmpty else { return [] }
        let phrase = fold(query).split(whereSeparator: { !$0.isLetter && !$0.isNumber }).joined(separator: " ")
        return services.compactMap { service -> Result? in
            let fields: [(words: Set<String>, weight: Double)] = [
                (DuplicateScoring.words(service.name), 5),
                (DuplicateScoring.words((service.keywords + (searchWords[service.code] ?? [])).joined(separator: " ")), 4),
                (DuplicateScoring.words(service.group), 2),
                (DuplicateScoring.words(service.description), 1),
            ]
            var score = 0.0
            var matched = 0
            for word in asked {
                var best = 0.0
                for field in fields {
                    if field.words.contains(word) {
                        best = max(best, field.weight)
                    } else if word.count >= 3, field.words.contains(where: { $0.hasPrefix(word) || (word.count >= 5 && word.hasPrefix($0)) }) {
                        best = max(best, field.weight / 2)
                    }
                }
                if best > 0 { matched += 1 }
                score += best
            }
            guard matched > 0 else { return nil }
            // Every word found counts for more than some words found strongly.
            if matched == asked.count { score *= 1.5 }
            let name = fold(service.name).split(whereSeparator: { !$0.isLetter && !$0.isNumber }).joined(separator: " ")
            if phrase.count >= 3, name.contains(phrase) { score += 3 }
            return Result(service: service, score: score)
        }
        .sorted { $0.score != $1.score ? $0.score > $1.score : $0.service.name < $1.service.name }
    }

    /// The query's words as the duplicate check reads them (stemmed, folded, common words dropped), in order, once each.
    static func orderedWords(_ text: String) -> [String] {
        var seen = Set<String>()
        var words: [String] = []
        for token in fold(text).split(whereSeparator: { !$0.isLetter && !$0.isNumber }) {
            let word = String(token)
            guard word.count >= 3 || Int(word) != nil, !DuplicateScoring.stopWords.contains(word) else { continue }
            let stemmed = DuplicateScoring.stem(word)
            if seen.insert(stemmed).inserted { words.append(stemmed) }
        }
        return words
    }

    static func fold(_ text: String) -> String {
        text.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil)
    }
}
