from gnn.conv.edge_conv_attr import EdgeConvAttr
from gnn.conv.graph_non_local import GraphNonLocal
from gnn.conv.modulated_graph_conv import ModulatedGraphConv
from gnn.conv.sem_graph_conv import SemGraphConv

__all__ = ["SemGraphConv", "ModulatedGraphConv", "GraphNonLocal", "EdgeConvAttr"]
