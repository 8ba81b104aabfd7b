// The GraphQL client: same-origin POSTs with the session cookie and Django's
// CSRF token (the csrftoken cookie sent back in the X-CSRFToken header).

export class ApiError extends Error {
  constructor(message, code) {
    super(message);
    this.code = code || null;
  }
}

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

// Run a query or mutation; answer its data, or throw an ApiError with the
// first error's extensions.code (PERMISSION_DENIED, INVALID_CREDENTIALS, ...).
export async function gql(query, variables = {}) {
  let response;
  try {
    response = await fetch("/graphql/", {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRFToken": csrfToken(),
      },
      body: JSON.stringify({ query, variables }),
    });
  } catch (error) {
    throw new ApiError("The server cannot be reached.", "NETWORK");
  }
  let body;
  try {
    body = await response.json();
  } catch (error) {
    throw new ApiError(`The server answered ${response.status}.`, "HTTP");
  }
  if (body.errors && body.errors.length) {
    const first = body.errors[0];
    throw new ApiError(first.message, first.extensions && first.extensions.code);
  }
  return body.data;
}

// A mutation payload that is an OperationInfo becomes an ApiError.
export function unwrap(payload) {
  if (payload && payload.__typename === "OperationInfo") {
    const message = payload.messages[0] || { message: "Refused.", code: null };
    throw new ApiError(message.message, message.code);
  }
  return payload;
}
