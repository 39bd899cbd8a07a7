"""LoRA trainer."""
