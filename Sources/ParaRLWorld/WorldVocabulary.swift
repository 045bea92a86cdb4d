// The text tokenizer's vocabulary of the built-in world: every word and mark its task generator can emit.
import Foundation
import ParaRLMedia

extension TextTokenizer {
    /// The world's vocabulary: punctuation, then every word of its grammar in byte order.
    public static func world() -> TextTokenizer { TextTokenizer(words: WorldGrammar.vocabulary) }

    /// A vocabulary from a corpus (e.g. a user dataset's instructions and reasoning): the world's words first,
    /// then the corpus's other words seen at least `minCount` times, in byte order.
    public static func fitted(to texts: [String], minCount: Int = 1) -> TextTokenizer {
        fitted(to: texts, base: WorldGrammar.vocabulary, minCount: minCount)
    }
}
