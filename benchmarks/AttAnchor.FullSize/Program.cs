using AttAnchor.FullSize;

// The full-size benchmark: see README.md next to this file; the command line is Cli.cs.
//   run [--model DIR] [--runs N] [--out DIR] [--skip-pytorch] ...    the whole benchmark, one child process per system
//   measure ours|plain-ort|pytorch --model DIR --runs N [...]         one system; JSON lines on stdout
//   measure six --model DIR --runs N [...]                            six questions about one image, from scratch and from an ImageSession
return await Cli.RunAsync(args, Console.Out, Console.Error, Cli.ExecuteAsync);
