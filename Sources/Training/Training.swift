// The Training module: datasets, the trainer loop, checkpoints.
