using LguestSim.Host.Net;

namespace LguestSim.Tests.Host.Net;

/// <summary>Runs code on a thread of its own moved into a test namespace: what it opens (taps, sockets) lives there.</summary>
public static class NamespaceThread
{
    public static void Run(NetNamespace ns, Action action)
    {
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                ThreadNetNamespace.Enter("/run/netns/" + ns.Name);
                action();
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
        thread.Join();
        if (failure is not null)
        {
            throw new InvalidOperationException("failed inside the namespace", failure);
        }
    }
}
