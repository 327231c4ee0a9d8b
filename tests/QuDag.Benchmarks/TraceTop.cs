using System.Text.RegularExpressions;
using Microsoft.Diagnostics.Symbols;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.Stacks;

namespace QuDag.Benchmarks;

/// <summary>
/// trace-top &lt;file.nettrace&gt; [N]: reads a dotnet-trace sample-profiler trace (thread time: every managed thread is
/// sampled, running or not) and separates samples of threads that wait (thread-pool idle, epoll wait, sleeps, timed
/// waits, thread-pool workers parked in native code) from those doing work. For the working samples it prints the top
/// N frames by exclusive and by inclusive share; a sample in native code is named after the managed frame that called
/// into it ("native <- caller"), so time in OpenSSL or in a send syscall shows under Interop+Ssl or Interop+Sys.
/// Writes every working stack, folded (root;...;leaf weight), to &lt;file&gt;.folded.txt for grepping or a flame graph.
/// </summary>
internal static partial class TraceTop
{
    // Frames whose presence means the thread is parked, not working.
    [GeneratedRegex(@"LowLevelLifoSemaphore\.Wait|LowLevelMonitor\.Wait|WaitHandle\.Wait|Monitor\.Wait|Thread\.Sleep|SocketAsyncEngine\.EventLoop|" +
        @"PortableThreadPool\+GateThread|TimerQueue\.TimerThread|WaitForSocketEvents|ManualResetEventSlim\.Wait|SemaphoreSlim\.Wait\(|" +
        @"Task\.SpinThenBlockingWait|Task\.InternalWaitCore|ThreadPoolWorkQueue\.Dispatch\b.*Semaphore|StreamReader\.ReadLine|ConsolePal|" +
        @"SafeFileHandle|RandomAccess\.ReadAtOffset|Interop\+Sys\.Read\b|Interop\+Sys\.Poll|Thread\.Join|WaitSubsystem|PipeStream|EventPipe|" +
        @"DiagnosticServer|GCHeap|ProcessWaitState|SignalHandlerLoop")]
    private static partial Regex WaitFrame();

    public static int Run(string path, int top)
    {
        var etlx = TraceLog.CreateFromEventPipeDataFile(path);
        using var log = new TraceLog(etlx);
        var source = new MutableTraceEventStackSource(log) { OnlyManagedCodeStacks = true };
        using var symbols = new SymbolReader(TextWriter.Null) { SymbolPath = "" };
        new SampleProfilerThreadTimeComputer(log, symbols).GenerateThreadTimeStacks(source);

        double total = 0, waiting = 0, busy = 0;
        var exclusive = new Dictionary<string, double>();
        var inclusive = new Dictionary<string, double>();
        var folded = new Dictionary<string, double>();
        var frames = new List<string>();
        source.ForEach(sample =>
        {
            frames.Clear();
            for (var index = sample.StackIndex; index != StackSourceCallStackIndex.Invalid; index = source.GetCallerIndex(index))
                frames.Add(source.GetFrameName(source.GetFrameIndex(index), false));
            var weight = sample.Metric;
            total += weight;
            if (frames.Any(f => WaitFrame().IsMatch(f)))
            {
                waiting += weight;
                return;
            }
            // Leaf first; drop the thread and process pseudo-frames at the root.
            var real = frames.Where(f => !f.StartsWith("Thread (", StringComparison.Ordinal) && !f.StartsWith("Process", StringComparison.Ordinal)).ToList();
            var leaf = real.Count == 0 ? "?" : real[0];
            if (leaf is "UNMANAGED_CODE_TIME" or "CPU_TIME" && real.Count > 1)
                leaf = (leaf == "UNMANAGED_CODE_TIME" ? "native <- " : "") + Simplify(real[1]);
            else
                leaf = Simplify(leaf);
            // A worker parked in its semaphore shows as native code right under WorkerThreadStart (the wait is
            // inlined into it): perf, which sees only threads on a CPU, puts the whole thread pool at about 3% of the
            // process where this frame alone took 27-32% of the samples.
            if (leaf == "native <- PortableThreadPool+WorkerThread.WorkerThreadStart")
            {
                waiting += weight;
                return;
            }
            busy += weight;
            exclusive[leaf] = exclusive.GetValueOrDefault(leaf) + weight;
            foreach (var frame in real.Select(Simplify).Distinct())
                inclusive[frame] = inclusive.GetValueOrDefault(frame) + weight;
            var key = string.Join(';', real.AsEnumerable().Reverse().Select(Simplify));
            folded[key] = folded.GetValueOrDefault(key) + weight;
        });

        Console.WriteLine($"{path}: {total:N0} ms of thread time sampled; waiting/parked {waiting / total:P0}, working {busy / total:P0} ({busy:N0} ms)");
        Console.WriteLine($"top {top} exclusive (share of working samples):");
        foreach (var (frame, weight) in exclusive.OrderByDescending(kv => kv.Value).Take(top))
            Console.WriteLine($"  {weight / busy,6:P1}  {frame}");
        Console.WriteLine($"top {top} inclusive (share of working samples):");
        foreach (var (frame, weight) in inclusive.Where(kv => kv.Key is not ("UNMANAGED_CODE_TIME" or "CPU_TIME"))
                     .OrderByDescending(kv => kv.Value).Take(top))
            Console.WriteLine($"  {weight / busy,6:P1}  {frame}");
        File.WriteAllLines(path + ".folded.txt", folded.OrderByDescending(kv => kv.Value).Select(kv => $"{kv.Key} {kv.Value:0.###}"));
        return 0;
    }

    private static string Simplify(string frame)
    {
        // "module!Namespace.Type.Method(args)" -> "Type.Method"; keep generic arity out of the way.
        var bang = frame.IndexOf('!');
        var name = bang >= 0 ? frame[(bang + 1)..] : frame;
        var paren = name.IndexOf('(');
        if (paren > 0)
            name = name[..paren];
        return name
            .Replace("System.Threading.Tasks.", "")
            .Replace("System.Runtime.CompilerServices.", "")
            .Replace("System.Collections.Concurrent.", "")
            .Replace("System.Net.Security.", "")
            .Replace("System.Net.Sockets.", "")
            .Replace("System.IO.Pipelines.", "")
            .Replace("System.Threading.", "")
            .Replace("QuDag.Network.", "")
            .Replace("QuDag.Benchmarks.", "");
    }
}
