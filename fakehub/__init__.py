"""fakehub: an offline GitHub API emulator (GraphQL + REST) that counts every request and point."""
