package web

import (
	"encoding/json"
	"math"

	"github.com/atiende/atiende/app/inbox"
	"github.com/atiende/atiende/models"
)

// apiReaction is an emoji on a message: from "contact" (the customer) or "agent".
type apiReaction struct {
	Emoji string `json:"emoji"`
	From  string `json:"from"`
	At    string `json:"at"`
}

type apiLocation struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Name      string  `json:"name"`
	Address   string  `json:"address"`
}

type apiOrderItem struct {
	ProductID string  `json:"product_id"`
	Quantity  float64 `json:"quantity"`
	Price     float64 `json:"price"`
	Currency  string  `json:"currency"`
}

// apiOrder is a catalog order: the customer's note, its items and their total.
type apiOrder struct {
	CatalogID string         `json:"catalog_id"`
	Note      string         `json:"note"`
	Items     []apiOrderItem `json:"items"`
	Total     float64        `json:"total"`
	Currency  string         `json:"currency"`
}

// apiEdited says a customer edited the message: body is the new text, previous what
// it said before (oldest first).
type apiEdited struct {
	Previous []string `json:"previous"`
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// withContent adds to am what m's kind carries: reactions, location, order, edits.
func withContent(am *apiMessage, m inbox.MessageView) {
	for _, r := range m.Reactions {
		from := "contact"
		if r.Direction == models.DirectionOut {
			from = "agent"
		}
		am.Reactions = append(am.Reactions, apiReaction{Emoji: r.Emoji, From: from, At: r.At.UTC().Format("2006-01-02T15:04:05Z07:00")})
	}
	var d struct {
		Latitude       *float64        `json:"latitude"`
		Longitude      *float64        `json:"longitude"`
		Name           string          `json:"name"`
		Address        string          `json:"address"`
		Order          json.RawMessage `json:"order"`
		PreviousBodies []string        `json:"previous_bodies"`
	}
	if len(m.Data) == 0 || json.Unmarshal(m.Data, &d) != nil {
		return
	}
	if m.Kind == models.KindLocation && d.Latitude != nil && d.Longitude != nil {
		am.Location = &apiLocation{Latitude: *d.Latitude, Longitude: *d.Longitude, Name: d.Name, Address: d.Address}
	}
	if m.Kind == models.KindOrder && len(d.Order) > 0 {
		am.Order = OrderOf(d.Order)
	}
	if len(d.PreviousBodies) > 0 {
		am.Edited = &apiEdited{Previous: d.PreviousBodies}
	}
}

// OrderOf reads Meta's order object.
func OrderOf(raw json.RawMessage) *apiOrder {
	var o struct {
		CatalogID string `json:"catalog_id"`
		Text      string `json:"text"`
		Items     []struct {
			ProductRetailerID string  `json:"product_retailer_id"`
			Quantity          float64 `json:"quantity"`
			ItemPrice         float64 `json:"item_price"`
			Currency          string  `json:"currency"`
		} `json:"product_items"`
	}
	if json.Unmarshal(raw, &o) != nil {
		return nil
	}
	out := &apiOrder{CatalogID: o.CatalogID, Note: o.Text, Items: []apiOrderItem{}}
	for _, it := range o.Items {
		out.Items = append(out.Items, apiOrderItem{ProductID: it.ProductRetailerID, Quantity: it.Quantity, Price: it.ItemPrice, Currency: it.Currency})
		out.Total += it.Quantity * it.ItemPrice
		out.Currency = it.Currency
	}
	out.Total = math.Round(out.Total*100) / 100
	return out
}
