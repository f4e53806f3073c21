"""The shared message-passing core: layers (`gnn.conv`) and models (`gnn.models`)."""
