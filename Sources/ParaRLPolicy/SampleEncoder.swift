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
        // An image that does not fit the tokenizer is named by file, line and field.
        func encode(_ picture: RGBImage, field: String) throws -> [Int] {
            do { return try image.encode(picture) } catch {
                throw DatasetError.invalidField(file: record.file, line: record.line, field: field, reason: "\(error)")
            }
        }
        return PolicySample(id: record.id, kind: kind, instruction: text.encode(record.instruction ?? ""),
                            inputImage: try record.loadInputImage().map { try encode($0, field: "input_image") },
                            reasoning: text.encode(record.reasoning),
                            outputImage: try encode(try record.loadOutputImage(), field: "output_image"))
    }
}
