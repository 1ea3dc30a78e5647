"""Language-model training: one loop for pretrain, sft and specialize, through DeepSpeed."""
