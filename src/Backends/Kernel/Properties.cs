using System.Runtime.CompilerServices;

// The request encoder's bytes are checked by the host tests.
[assembly: InternalsVisibleTo("LguestSim.Tests.Host")]
