from gnn.models.dense_semgcn import DenseSemGCN
from gnn.models.edge_classifier import EdgeClassifier
from gnn.models.graformer import GraFormer
from gnn.models.linear import LinearLifter
from gnn.models.semgcn import SemGCN

# Model class name -> class, for rebuilding a model from a checkpoint's description.
MODEL_CLASSES = {"SemGCN": SemGCN, "GraFormer": GraFormer, "LinearLifter": LinearLifter,
                 "EdgeClassifier": EdgeClassifier}

__all__ = ["SemGCN", "GraFormer", "LinearLifter", "DenseSemGCN", "EdgeClassifier", "MODEL_CLASSES"]
