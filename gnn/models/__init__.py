from gnn.models.dense_semgcn import DenseSemGCN
from gnn.models.linear import LinearLifter
from gnn.models.semgcn import SemGCN

# Model class name -> class, for rebuilding a model from a checkpoint's description.
MODEL_CLASSES = {"SemGCN": SemGCN, "LinearLifter": LinearLifter}

__all__ = ["SemGCN", "LinearLifter", "DenseSemGCN", "MODEL_CLASSES"]
