// Answers one question about one image with AttAnchor.OnnxRuntime, streaming the answer as it is generated,
// then prints the AttAnchor copies the answer was made with and the device it ran on. From the repository root:
//   dotnet run --project samples/QuickStart -c Release -- [MODEL_FOLDER] [IMAGE] [QUESTION]
using AttAnchor.OnnxRuntime;

if (args is ["-h" or "--help", ..])
{
    Console.WriteLine("usage: QuickStart [MODEL_FOLDER] [IMAGE] [QUESTION]");
    Console.WriteLine("defaults: models/shapes/attanchor models/shapes/example.png \"What color is the circle?\"");
    return;
}

string modelFolder = args.Length > 0 ? args[0] : "models/shapes/attanchor";
string imagePath = args.Length > 1 ? args[1] : "models/shapes/example.png";
string question = args.Length > 2 ? args[2] : "What color is the circle?";

// Opens attanchor.json, tokenizer.model and the ONNX graphs, and checks that they agree; CUDA when its
// provider loads, else the CPU (ModelOptions picks otherwise).
using VisionLanguageModel model = VisionLanguageModel.Open(modelFolder);
ModelImage image = model.LoadImage(imagePath);

Console.WriteLine($"Q: {question}");
Console.Write("A: ");
AnswerStream answer = model.Answer(image, question, new GenerationOptions { MaxNewTokens = 32 });
await foreach (string piece in answer)
{
    Console.Write(piece); // whole UTF-8 characters, as they are generated
}

Console.WriteLine();

// The finished answer: why it stopped, and where AttAnchor copied which question words (text into image:
// each word's copy follows the image patch its embedding is closest to).
VqaResult result = answer.Result;
Console.WriteLine($"stopped: {result.StopReason} after {result.TokenIds.Count} tokens");
Console.WriteLine($"AttAnchor: {result.Anchors.Count} copies, sequence {result.BaselineSequenceLength} -> {result.SequenceLength} positions");
foreach (AnchorInfo anchor in result.Anchors)
{
    Console.WriteLine($"  {anchor.Token} -> patch {anchor.PatchIndex} (row {anchor.PatchRow}, column {anchor.PatchColumn}), similarity {anchor.Similarity:F3}");
}

Console.WriteLine($"device: {result.Device}");
