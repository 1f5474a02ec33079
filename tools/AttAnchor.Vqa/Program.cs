using AttAnchor.Vqa;

// The single-image VQA console: see README.md beside this file and docs/spec/vqa-cli.md.
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true; // stop the answer within one decode step, then exit cleanly
    cancel.Cancel();
};
Console.OutputEncoding = System.Text.Encoding.UTF8;
return await VqaApp.RunAsync(args, Console.Out, Console.Error, cancel.Token);
