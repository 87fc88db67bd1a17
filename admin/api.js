// The admin's only way to the service: GraphQL over fetch, with the credential kept for this
// browser tab (sessionStorage), and errors turned into ApiError carrying `extensions.code`.

const CREDENTIAL_KEY = "qikink-admin.credential";
// Relative to the admin's own URL, so the admin keeps working behind a path prefix.
const ENDPOINT = new URL("../graphql", document.baseURI).href;
const SEARCH_LIMIT = 200;

export class ApiError extends Error {
  constructor(message, code = "ERROR", field = null) {
    super(message);
    this.name = "ApiError";
    this.code = code;
    this.field = field;
  }

  get isAuthFailure() {
    return this.code === "UNAUTHENTICATED" || this.code === "FORBIDDEN";
  }
}

export const session = {
  get() {
    return sessionStorage.getItem(CREDENTIAL_KEY);
  },
  set(credential) {
    sessionStorage.setItem(CREDENTIAL_KEY, credential);
  },
  clear() {
    sessionStorage.removeItem(CREDENTIAL_KEY);
  },
};

let authFailureHandler = () => {};

/** Called with the ApiError whenever the service refuses the stored credential. */
export function onAuthFailure(handler) {
  authFailureHandler = handler;
}

async function request(query, variables, credential) {
  let response;
  try {
    response = await fetch(ENDPOINT, {
      method: "POST",
      headers: {
        accept: "application/json",
        "content-type": "application/json",
        authorization: `Bearer ${credential}`,
      },
      body: JSON.stringify({ query, variables }),
      credentials: "omit",
      cache: "no-store",
    });
  } catch {
    throw new ApiError("The service cannot be reached. Check that it is running and try again.", "NETWORK");
  }
  let body;
  try {
    body = await response.json();
  } catch {
    throw new ApiError(`The service answered HTTP ${response.status} with no GraphQL result.`, "HTTP");
  }
  if (body.errors?.length) {
    const [first] = body.errors;
    const extensions = first.extensions ?? {};
    throw new ApiError(first.message || "The request failed.", extensions.code ?? "ERROR", extensions.field ?? null);
  }
  return body.data;
}

/** Run an operation with the signed-in credential. */
export async function gql(query, variables = {}) {
  const credential = session.get();
  if (!credential) {
    const error = new ApiError("You are signed out.", "UNAUTHENTICATED");
    authFailureHandler(error);
    throw error;
  }
  try {
    return await request(query, variables, credential);
  } catch (error) {
    if (error instanceof ApiError && error.isAuthFailure) authFailureHandler(error);
    throw error;
  }
}

/** Check a credential with a cheap admin-only query; throws the service's refusal. */
export async function verifyCredential(credential) {
  await request("query Verify { productMappings(limit: 1) { count } }", {}, credential);
}

// -- order mappings -------------------------------------------------------------------------

const ORDER_FIELDS = `id medusaOrderId medusaDisplayId qikinkOrderId qikinkOrderNumber status qikinkStatus
  trackingNumber courier trackingUrl createdAt updatedAt lastSyncedAt attempts lastError nextAttemptAt
  cancelRequested medusaFulfillmentId medusaSyncedState medusaSyncError`;

export async function listOrderMappings({ status = null, limit, offset }) {
  const data = await gql(
    `query OrderMappings($filter: OrderMappingFilter, $limit: Int!, $offset: Int!) {
      qikinkOrderMappings(filter: $filter, limit: $limit, offset: $offset) {
        count nodes { ${ORDER_FIELDS} } } }`,
    { filter: status ? { status } : null, limit, offset },
  );
  return data.qikinkOrderMappings;
}

/** Mappings whose store order number (#1042 or 1042), store order id or Qikink order id is
 * exactly `text`. */
export async function searchOrderMappings(text, status = null) {
  const data = await gql(
    `query SearchOrderMappings($byStore: OrderMappingFilter!, $byQikink: OrderMappingFilter!, $limit: Int!) {
      byStore: qikinkOrderMappings(filter: $byStore, limit: $limit) { nodes { ${ORDER_FIELDS} } }
      byQikink: qikinkOrderMappings(filter: $byQikink, limit: $limit) { nodes { ${ORDER_FIELDS} } } }`,
    {
      byStore: { search: text, status },
      byQikink: { qikinkOrderId: text, status },
      limit: SEARCH_LIMIT,
    },
  );
  return merged(data.byStore.nodes, data.byQikink.nodes);
}

export async function getOrderMapping(id) {
  const data = await gql(
    `query OrderMapping($id: ID!) { qikinkOrderMapping(id: $id) { ${ORDER_FIELDS} } }`,
    { id },
  );
  return data.qikinkOrderMapping;
}

export async function refreshOrderMappings() {
  const data = await gql(
    `mutation Refresh { refreshOrderMappings { updated processed totalEligible limit
      changes { previousStatus mapping { id medusaOrderId medusaDisplayId status } } } }`,
  );
  return data.refreshOrderMappings;
}

export async function retryOrderSubmission(id) {
  const data = await gql(
    `mutation Retry($id: ID!) { retryOrderSubmission(id: $id) { ${ORDER_FIELDS} } }`,
    { id },
  );
  return data.retryOrderSubmission;
}

// -- product (variant) mappings -------------------------------------------------------------

const PRODUCT_FIELDS = "id qikinkSkuId variantId productTitle variantTitle variantSku createdAt updatedAt";

export async function listProductMappings({ limit, offset }) {
  const data = await gql(
    `query ProductMappings($limit: Int!, $offset: Int!) {
      productMappings(limit: $limit, offset: $offset) { count nodes { ${PRODUCT_FIELDS} } } }`,
    { limit, offset },
  );
  return data.productMappings;
}

/** Mappings whose variant id or Qikink SKU is exactly `text`. */
export async function searchProductMappings(text) {
  const data = await gql(
    `query SearchProductMappings($byVariant: ProductMappingFilter!, $bySku: ProductMappingFilter!) {
      byVariant: productMappings(filter: $byVariant, limit: ${SEARCH_LIMIT}) { nodes { ${PRODUCT_FIELDS} } }
      bySku: productMappings(filter: $bySku, limit: ${SEARCH_LIMIT}) { nodes { ${PRODUCT_FIELDS} } } }`,
    { byVariant: { variantId: text }, bySku: { qikinkSkuId: text } },
  );
  return merged(data.byVariant.nodes, data.bySku.nodes);
}

export async function createProductMapping(input) {
  const data = await gql(
    `mutation CreateProductMapping($input: ProductMappingInput!) {
      createProductMapping(input: $input) { ${PRODUCT_FIELDS} } }`,
    { input },
  );
  return data.createProductMapping;
}

export async function updateProductMapping(id, input) {
  const data = await gql(
    `mutation UpdateProductMapping($id: ID!, $input: ProductMappingUpdateInput!) {
      updateProductMapping(id: $id, input: $input) { ${PRODUCT_FIELDS} } }`,
    { id, input },
  );
  return data.updateProductMapping;
}

export async function deleteProductMapping(id) {
  const data = await gql(
    "mutation DeleteProductMapping($id: ID!) { deleteProductMapping(id: $id) { id deleted } }",
    { id },
  );
  return data.deleteProductMapping;
}

function merged(...lists) {
  const byId = new Map();
  for (const node of lists.flat()) byId.set(node.id, node);
  return [...byId.values()];
}
