"""An application that knows nothing about otel-llmcost: one chat completion, printed.

Run it under ``opentelemetry-instrument``; the OpenAI base URL comes from OPENAI_BASE_URL
(the test points it at a local fake server).
"""

import openai

client = openai.OpenAI()
completion = client.chat.completions.create(
    model="gpt-4o-mini",
    messages=[
        {"role": "system", "content": "You are the support agent."},
        {"role": "user", "content": "Where is my parcel?"},
    ],
)
print("answer:", completion.choices[0].message.content)
