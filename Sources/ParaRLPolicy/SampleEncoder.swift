// From tasks to policy samples: world tasks and dataset records, text through the text tokenizer, images through
// the image tokenizer.
import Foundation
import ParaRLMedia
import ParaRLWorld

/// Tokenises tasks: text through the text tokenizer, images through the image tokenizer.
public struct SampleEncoder: Sendable {
    public let text: TextTokenizer
    public let image: any ImageTokenizer
    public init(text: TextTokenizer, image: any ImageTokenizer) { self.text = text; self.image = image }

    public func sample(_ task: WorldTask, renderer: SceneRenderer) throws -> PolicySample {
        PolicySample(id: task.id, kind: task.kind, instruction: text.encode(task.instruction),
                     inputImage: try task.inputScene.map { try image.encode(renderer.render($0)) },
                     reasoning: text.encode(task.reasoning), outputImage: try image.encode(renderer.render(task.targetScene)))
    }

    public func sample(_ record: DatasetRecord) throws -> PolicySample {
        let kind = record.kind ?? (record.inputImage == nil ? .generate : .edit)
        return PolicySample(id: record.id, kind: kind, instruction: text.encode(record.instruction ?? ""),
                            inputImage: try record.loadInputImage().map { try image.encode($0) },
                            reasoning: text.encode(record.reasoning), outputImage: try image.encode(try record.loadOutputImage()))
    }
}
