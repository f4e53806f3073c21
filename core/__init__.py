"""What every layer needs: input errors, atomic writes, checkpoints, devices, distributed set-up, the CLI frame. Imports nothing of ours."""
