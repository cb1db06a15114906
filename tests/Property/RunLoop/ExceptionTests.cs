using LguestSim.Engine;
using Xunit;

namespace LguestSim.Tests.Property.RunLoop;

/// <summary>What the two exception types carry for whoever reports them.</summary>
public sealed class ExceptionTests
{
    /// <summary>A guest fault that escapes as an exception (in a crash log) reads "Code: detail".</summary>
    [Fact]
    public void GuestFaultException_Message_IsCodeThenDetail()
    {
        var e = new GuestFaultException(GuestFault.BadNotify, "bad NOTIFY 0x1000");

        Assert.Equal("BadNotify: bad NOTIFY 0x1000", e.Message);
    }

    /// <summary>
    /// A host failure carries the operation and the errno for callers that act on them (ENOENT
    /// from /dev/lguest: the module is not loaded), and reads "operation: strerror".
    /// </summary>
    [Fact]
    public void LguestHostException_CarriesOperationAndErrno()
    {
        const int Enoent = 2;
        var e = new LguestHostException("open /dev/lguest", Enoent);

        Assert.Equal("open /dev/lguest", e.Operation);
        Assert.Equal(Enoent, e.Errno);
        Assert.Equal("open /dev/lguest: No such file or directory", e.Message);
    }

    /// <summary>A failure with no errno (a read that returned 0) reads as the operation alone.</summary>
    [Fact]
    public void LguestHostException_WithoutErrno_ReadsAsTheOperation()
    {
        var e = new LguestHostException("read tap0: end of file", 0);

        Assert.Equal("read tap0: end of file", e.Operation);
        Assert.Equal(0, e.Errno);
        Assert.Equal("read tap0: end of file", e.Message);
    }
}
