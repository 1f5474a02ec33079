using AttAnchor.Vqa;

// The single-image VQA console: see README.md beside this file and docs/spec/vqa-cli.md.
// Ctrl+C once cancels the run (exit 130); twice, or SIGTERM, ends the process at once (130, 143): see Termination.
using var termination = new Termination();
Console.OutputEncoding = System.Text.Encoding.UTF8;
int code = await VqaApp.RunAsync(args, Console.Out, Console.Error, termination.Token);
return termination.ExitCode(code);
