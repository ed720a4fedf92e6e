"""Code that runs on worker nodes: the glidein startup script, the job wrapper, the health probe."""
