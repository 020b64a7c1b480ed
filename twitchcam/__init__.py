"""twitchcam: lateralized hemifacial-spasm monitor."""
