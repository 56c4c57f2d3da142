"""`autodev ask` and `autodev chat`: one question (or a conversation) about code, the answer shown, written or applied.

The everyday tool autodev grew from, on the engine's parts: the router calls the model (budget, cache, retries,
local models served on demand), ``synth/`` reads code blocks into edits and confines their paths, the journal
makes applying them undoable, git commits exactly those files.

- ``place``: where ask works: the project found upward, else the directory with state in the user's data directory
- ``conversation``: conversations as JSONL files, listed, loaded, continued, removed
- ``window``: the messages trimmed to the model's context window, oldest turns first, with a summary
- ``prompt``: the messages of one request (instructions, the conversation's files, history, the question)
- ``session``: one conversation with one model: send a question, get the answer streamed and recorded
- ``changes``: an answer's code blocks as file changes, checked, shown as a diff, applied, tested, committed
- ``undo``: autodev's last commit reverted when nothing was committed on top of it
- ``output``: `--output`: the answer, or its one code block, written atomically
- ``chat``: what a line typed at chat's prompt means (a question or a slash command)
"""
